namespace Dedalus.Machines.Tests;

public sealed class MachineGracefulStopTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Says it is ready once its trap is set; on SIGTERM leaves a file in the persistent home and exits.</summary>
    private static readonly string[] TrapsTerm =
        ["sh", "-c", "trap 'echo bye > /home/machine/bye; exit 0' TERM; echo ready; while :; do sleep 0.1; done"];

    [Fact]
    public async Task A_stop_with_a_grace_lets_a_process_act_on_SIGTERM_while_executions_are_killed_as_before()
    {
        var id = await fixture.StartMachineAsync();
        await using var process = await StartReadyAsync(id, TrapsTerm);
        await using var execution = await fixture.Runtime.StartExecutionAsync(
            id, new MachineExecutionRequest("t" + Guid.NewGuid().ToString("N")[..16], ["sleep", "1006"], "machine", null, new Dictionary<string, string>()));

        await fixture.Runtime.StopAsync(id, TimeSpan.FromSeconds(30)).WaitAsync(Bound);

        Assert.Equal(MachineRuntimeState.Sleeping, await fixture.Runtime.GetStateAsync(id));
        Assert.Equal(0, await process.Exited.WaitAsync(Bound));
        Assert.Equal(MachineExitStatus.Killed(9), await execution.Exited.WaitAsync(Bound));
        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.Equal("bye", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /home/machine/bye"));
    }

    [Fact]
    public async Task A_stop_without_grace_kills_at_once_and_the_trap_never_runs()
    {
        var id = await fixture.StartMachineAsync();
        await using (await StartReadyAsync(id, TrapsTerm))
        {
            await fixture.Runtime.StopAsync(id).WaitAsync(Bound);
        }

        await using (await StartReadyAsync(id, TrapsTerm, start: true))
        {
            await fixture.Runtime.StopAsync(id, TimeSpan.Zero).WaitAsync(Bound);
        }

        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.Equal("absent", await Tools.BashCheckedAsync(fixture.Runtime, id, "test -e /home/machine/bye && echo present || echo absent"));
    }

    [Fact]
    public async Task A_process_that_ignores_SIGTERM_is_killed_once_the_grace_is_over()
    {
        var id = await fixture.StartMachineAsync();
        await using var process = await StartReadyAsync(id, ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"]);

        await fixture.Runtime.StopAsync(id, TimeSpan.FromSeconds(1)).WaitAsync(Bound);

        Assert.Equal(MachineRuntimeState.Sleeping, await fixture.Runtime.GetStateAsync(id));
        Assert.NotEqual(0, await process.Exited.WaitAsync(Bound));

        // Asleep already, or never provisioned: as StopAsync.
        await fixture.Runtime.StopAsync(id, TimeSpan.FromSeconds(1)).WaitAsync(Bound);
        await Assert.ThrowsAsync<MachineNotFoundException>(() => fixture.Runtime.StopAsync(fixture.NewMachineId(), TimeSpan.FromSeconds(1)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => fixture.Runtime.StopAsync(id, TimeSpan.FromSeconds(-1)));
    }

    /// <summary>Starts (waking the machine first when asked) a process that prints <c>ready</c>, and waits for that line.</summary>
    private async Task<IMachineProcess> StartReadyAsync(string id, string[] argv, bool start = false)
    {
        if (start)
        {
            await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        }

        var process = await fixture.Runtime.ExecAsync(id, new MachineExecRequest(argv, "machine")).WaitAsync(Bound);
        await process.StandardInput.DisposeAsync();
        var line = await new StreamReader(process.StandardOutput).ReadLineAsync().WaitAsync(Bound);
        Assert.Equal("ready", line);
        return process;
    }
}
