using System.Net;
using System.Net.Sockets;

namespace Dedalus.Machines.Tests;

public sealed class MachineIsolationTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    [Fact]
    public async Task Cpu_memory_and_pids_limits_are_visible_inside()
    {
        var id = await fixture.StartMachineAsync(new MachineResources(1.5, 384, 1));

        Assert.Equal((384L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
            await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"));
        Assert.Equal("150000", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"));
        Assert.Equal("100000", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us"));
        Assert.Equal("1024", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /sys/fs/cgroup/pids/pids.max"));
    }

    [Fact]
    public async Task Writing_more_than_the_storage_into_home_fails_with_no_space_left()
    {
        var id = await fixture.StartMachineAsync(new MachineResources(1, 512, 1));

        var result = await Tools.BashAsync(fixture.Runtime, id, "dd if=/dev/zero of=/home/machine/fill bs=1M count=1100 conv=fsync", user: "machine");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("No space left on device", result.StandardError, StringComparison.Ordinal);
        var size = await Tools.BashCheckedAsync(fixture.Runtime, id, "df --output=size -B1M /home/machine | tail -1");
        Assert.InRange(long.Parse(size, System.Globalization.CultureInfo.InvariantCulture), 900, 1024);
    }

    [Fact]
    public async Task The_host_processes_and_files_are_not_visible_inside()
    {
        var id = await fixture.StartMachineAsync();

        var processes = (await Tools.BashCheckedAsync(fixture.Runtime, id, "ps -eo comm=")).Split('\n');
        Assert.InRange(processes.Length, 2, 8);
        Assert.DoesNotContain(processes, p => p.Contains("dotnet", StringComparison.Ordinal) || p.Contains("testhost", StringComparison.Ordinal));
        Assert.Equal("1", await Tools.BashCheckedAsync(fixture.Runtime, id, "pgrep -x tini"));
        // The fixture's data directory (a host path) does not exist inside; the host's root is not the machine's.
        Assert.Equal("absent", await Tools.BashCheckedAsync(fixture.Runtime, id, $"test -e {fixture.DataDirectory} && echo present || echo absent"));
        Assert.Equal("absent", await Tools.BashCheckedAsync(fixture.Runtime, id, "test -e /work && echo present || echo absent"));
        // No host devices beyond the defaults.
        Assert.Equal("absent", await Tools.BashCheckedAsync(fixture.Runtime, id, "test -e /dev/vda && echo present || echo absent"));
    }

    [Fact]
    public async Task Root_inside_is_an_unprivileged_user_of_the_host()
    {
        var id = await fixture.StartMachineAsync();

        var map = (await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /proc/self/uid_map")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["0", "65536"], [map[0], map[2]]);
        Assert.True(fixture.Options.MachineUids!.Holds(int.Parse(map[1], System.Globalization.CultureInfo.InvariantCulture)), $"host uid {map[1]} is the first of a range of the pool");
        var status = await Tools.BashCheckedAsync(fixture.Runtime, id, "grep CapEff /proc/self/status");
        Assert.DoesNotContain("ffffff", status, StringComparison.Ordinal);
        // Mounting needs CAP_SYS_ADMIN, which is dropped; a nested user namespace (which would grant it) is refused.
        Assert.NotEqual(0, (await Tools.BashAsync(fixture.Runtime, id, "mount -t tmpfs none /mnt")).ExitCode);
        var nested = await Tools.BashAsync(fixture.Runtime, id, "unshare --user --map-root-user id -u", user: "machine");
        Assert.NotEqual(0, nested.ExitCode);
        Assert.Contains("Operation not permitted", nested.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_on_the_host_loopback_is_unreachable_from_inside()
    {
        var id = await fixture.StartMachineAsync();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var result = await Tools.BashAsync(fixture.Runtime, id, $"timeout 5 bash -c 'echo > /dev/tcp/127.0.0.1/{port}'");

        Assert.NotEqual(0, result.ExitCode);
        Assert.False(listener.Pending());
        // Only the machine's own loopback interface exists.
        var interfaces = await Tools.BashCheckedAsync(fixture.Runtime, id, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
        Assert.Equal("lo", interfaces);
    }

    [Fact]
    public async Task Killing_an_exec_kills_the_process_inside()
    {
        var id = await fixture.StartMachineAsync();
        await using var process = await fixture.Runtime.ExecAsync(id, new MachineExecRequest(["/bin/sleep", "1234"]));
        Assert.True(await Eventually.TrueAsync(async () => (await Tools.BashAsync(fixture.Runtime, id, "pgrep -x sleep -a | grep 1234")).ExitCode == 0, MachineRuntimeFixture.Timeout));

        process.Kill();

        await process.Exited.WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.True(await Eventually.TrueAsync(async () => (await Tools.BashAsync(fixture.Runtime, id, "pgrep -a sleep | grep 1234")).ExitCode != 0, MachineRuntimeFixture.Timeout));
        Assert.NotEqual(0, (await Tools.BashAsync(fixture.Runtime, id, "pgrep -a sleep | grep 1234")).ExitCode);
    }

    [Fact]
    public async Task Exec_pipes_stdin_to_the_process_and_reports_its_exit_code()
    {
        var id = await fixture.StartMachineAsync();

        var result = await Tools.ExecAsync(fixture.Runtime, id, ["/bin/bash", "-c", "tr a-z A-Z; echo err >&2; exit 7"], input: "hello");

        Assert.Equal(7, result.ExitCode);
        Assert.Equal("HELLO", result.StandardOutput);
        Assert.Equal("err\n", result.StandardError);
    }
}
