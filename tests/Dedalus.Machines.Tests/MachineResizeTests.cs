using System.Globalization;

namespace Dedalus.Machines.Tests;

public sealed class MachineResizeTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    [Fact]
    public async Task Resizing_a_running_machine_grows_its_storage_and_changes_its_limits_live()
    {
        var id = await fixture.StartMachineAsync(new MachineResources(1, 256, 1));
        await Tools.BashCheckedAsync(fixture.Runtime, id, "echo kept > /home/machine/note");
        var before = await HomeSizeMibAsync(id);

        await fixture.Runtime.ResizeAsync(id, new MachineResources(2, 768, 3)).WaitAsync(MachineRuntimeFixture.Timeout);

        // ext4 grows online only where the host holds CAP_SYS_RESOURCE; elsewhere the runtime grows it at the next wake.
        var grownMib = await HomeSizeMibAsync(id);
        Assert.True(HostCanResizeOnline ? grownMib > before + 1800 : grownMib >= before, $"home is {grownMib} MiB");
        Assert.Equal("200000", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"));
        Assert.Equal((768L * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
            await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"));
        Assert.Equal("kept", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /home/machine/note"));

        // The new limits hold after sleep and wake too.
        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.Equal("200000", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"));
        Assert.InRange(await HomeSizeMibAsync(id), before + 1800, 3 * 1024);
    }

    [Fact]
    public async Task Resizing_a_sleeping_machine_grows_its_storage_offline()
    {
        var id = await fixture.StartMachineAsync(new MachineResources(1, 256, 1), start: false);

        await fixture.Runtime.ResizeAsync(id, new MachineResources(1, 256, 2)).WaitAsync(MachineRuntimeFixture.Timeout);
        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);

        Assert.InRange(await HomeSizeMibAsync(id), 1800, 2 * 1024);
    }

    [Fact]
    public async Task Shrinking_storage_is_refused_with_a_clear_error()
    {
        var id = await fixture.StartMachineAsync(new MachineResources(1, 256, 2), start: false);

        var error = await Assert.ThrowsAsync<MachineRuntimeException>(
            () => fixture.Runtime.ResizeAsync(id, new MachineResources(1, 256, 1)));

        Assert.Contains("only grows", error.Message, StringComparison.Ordinal);
        Assert.Equal(id, error.MachineId);
    }

    private static bool HostCanResizeOnline
    {
        get
        {
            const int CapSysResource = 24;
            var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
            var effective = ulong.Parse(line["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return (effective & (1UL << CapSysResource)) != 0;
        }
    }

    private async Task<long> HomeSizeMibAsync(string id) =>
        long.Parse(await Tools.BashCheckedAsync(fixture.Runtime, id, "df --output=size -B1M /home/machine | tail -1"), CultureInfo.InvariantCulture);
}
