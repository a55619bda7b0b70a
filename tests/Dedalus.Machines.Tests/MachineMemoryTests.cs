using System.Globalization;

namespace Dedalus.Machines.Tests;

public sealed class MachineMemoryTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Builds a 200 MiB string of touched anonymous memory (perl copies it once more into $x) and prints its length.</summary>
    private static readonly string[] Allocate200Mib = ["perl", "-e", "$x = \"a\" x (200*1024*1024); print length($x)"];

    [Fact]
    public async Task A_machine_that_holds_at_its_limit_keeps_an_allocating_process_waiting_until_the_limit_is_raised()
    {
        // Set while asleep: the hold mode reaches the machine through its start.
        var id = await fixture.StartMachineAsync(new MachineResources(1, 128, 1), start: false);
        await fixture.Runtime.SetMemoryAsync(id, new MachineMemoryPolicy(128, HoldAtLimit: true)).WaitAsync(Bound);
        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        var started = await ReadAsync(id);
        Assert.Equal(128, started.LimitMib);
        Assert.True(started.HoldAtLimit);
        Assert.False(started.Held);

        await using var process = await fixture.Runtime.ExecAsync(id, new MachineExecRequest(Allocate200Mib, "machine")).WaitAsync(Bound);
        await process.StandardInput.DisposeAsync();
        var stdout = new StreamReader(process.StandardOutput).ReadToEndAsync();
        Assert.True(await Eventually.TrueAsync(async () => (await ReadAsync(id)).Held, Bound), "the process was never held at 128 MiB");
        Assert.False(process.Exited.IsCompleted);

        // What the control plane does: while held, raise the limit a step.
        var limit = 128L;
        var raised = await Eventually.TrueAsync(
            async () =>
            {
                if (process.Exited.IsCompleted)
                {
                    return true;
                }

                if ((await ReadAsync(id)).Held && limit < 2048)
                {
                    limit += 128;
                    await fixture.Runtime.SetMemoryAsync(id, new MachineMemoryPolicy(limit, HoldAtLimit: true)).WaitAsync(Bound);
                }

                return false;
            },
            Bound);

        Assert.True(raised, $"the process did not finish; limit now {limit} MiB");
        Assert.Equal(0, await process.Exited.WaitAsync(Bound));
        Assert.Equal((200 * 1024 * 1024).ToString(CultureInfo.InvariantCulture), await stdout.WaitAsync(Bound));
        var after = await ReadAsync(id);
        Assert.True(limit > 128);
        Assert.Equal(limit, after.LimitMib);
        Assert.True(after.HoldAtLimit);
        Assert.False(after.Held);
        Assert.Equal(0, after.OomKills);
        Assert.Equal(
            (limit * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
            await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"));
    }

    [Fact]
    public async Task A_machine_that_does_not_hold_has_the_allocating_process_OOM_killed_and_counts_the_kill()
    {
        var id = await fixture.StartMachineAsync(new MachineResources(1, 128, 1));
        // Hold on, then off again, live: the second policy is the one in force.
        await fixture.Runtime.SetMemoryAsync(id, new MachineMemoryPolicy(128, HoldAtLimit: true)).WaitAsync(Bound);
        Assert.True((await ReadAsync(id)).HoldAtLimit);
        await fixture.Runtime.SetMemoryAsync(id, new MachineMemoryPolicy(128, HoldAtLimit: false)).WaitAsync(Bound);
        var before = await ReadAsync(id);
        Assert.False(before.HoldAtLimit);
        Assert.NotNull(before.OomKills);

        var result = await Tools.ExecAsync(fixture.Runtime, id, Allocate200Mib, user: "machine");

        Assert.Equal(137, result.ExitCode);
        var after = await ReadAsync(id);
        Assert.True(after.OomKills > before.OomKills, $"OOM kills: {before.OomKills} then {after.OomKills}");
        Assert.Equal(128, after.LimitMib);
        Assert.False(after.Held);
    }

    [Fact]
    public async Task The_hold_mode_and_a_raised_limit_survive_sleep_and_wake_and_a_resize_keeps_the_hold_mode()
    {
        var id = await fixture.StartMachineAsync(new MachineResources(1, 128, 1));
        await fixture.Runtime.SetMemoryAsync(id, new MachineMemoryPolicy(128, HoldAtLimit: true)).WaitAsync(Bound);
        await fixture.Runtime.SetMemoryAsync(id, new MachineMemoryPolicy(320, HoldAtLimit: true)).WaitAsync(Bound);

        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        await Assert.ThrowsAsync<MachineNotRunningException>(() => fixture.Runtime.ReadMemoryAsync(id));
        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);

        var woken = await ReadAsync(id);
        Assert.Equal(320, woken.LimitMib);
        Assert.True(woken.HoldAtLimit);
        Assert.Equal(0, woken.OomKills);
        Assert.Equal("oom_kill_disable 1", await Tools.BashCheckedAsync(fixture.Runtime, id, "head -1 /sys/fs/cgroup/memory/memory.oom_control"));

        // A resize sets the limit to its own memory and keeps holding.
        await fixture.Runtime.ResizeAsync(id, new MachineResources(1, 256, 1)).WaitAsync(MachineRuntimeFixture.Timeout);
        var resized = await ReadAsync(id);
        Assert.Equal(256, resized.LimitMib);
        Assert.True(resized.HoldAtLimit);

        // Off while asleep: the next wake OOM-kills again.
        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        await fixture.Runtime.SetMemoryAsync(id, new MachineMemoryPolicy(256, HoldAtLimit: false)).WaitAsync(Bound);
        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        var off = await ReadAsync(id);
        Assert.Equal(256, off.LimitMib);
        Assert.False(off.HoldAtLimit);
    }

    [Fact]
    public async Task Memory_of_an_unknown_machine_is_not_found_and_a_bad_policy_is_refused()
    {
        await Assert.ThrowsAsync<MachineNotFoundException>(() => fixture.Runtime.ReadMemoryAsync(fixture.NewMachineId()));
        await Assert.ThrowsAsync<MachineNotFoundException>(
            () => fixture.Runtime.SetMemoryAsync(fixture.NewMachineId(), new MachineMemoryPolicy(256, HoldAtLimit: true)));
        var id = await fixture.StartMachineAsync(new MachineResources(1, 128, 1), start: false);
        await Assert.ThrowsAsync<ArgumentException>(() => fixture.Runtime.SetMemoryAsync(id, new MachineMemoryPolicy(8, HoldAtLimit: true)));
    }

    private Task<MachineMemoryState> ReadAsync(string id) => fixture.Runtime.ReadMemoryAsync(id).WaitAsync(Bound);
}
