namespace Dedalus.Client.Tests;

/// <summary>The SDK against the real control plane, gateway and runc machines.</summary>
public sealed partial class RealServerTests(RealServer server) : IClassFixture<RealServer>
{
    [Fact]
    public async Task Every_machine_and_session_call_works_and_lists_page_across_machines()
    {
        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = cts.Token;

        var created = await client.Machines.CreateAsync(new CreateMachineRequest(0.5, 256, 1, "30m"), ct);
        try
        {
            Assert.True(Guid.TryParseExact(created.MachineId, "D", out _), created.MachineId);
            var retrieved = await client.Machines.RetrieveAsync("dm-" + created.MachineId, ct);
            Assert.Equal(created.MachineId, retrieved.MachineId);
            Assert.Equal(1800, retrieved.AutosleepSeconds);

            var updated = await client.Machines.UpdateAsync(created.MachineId, new UpdateMachineRequest(Autosleep: "never"), ct);
            Assert.Equal(0, updated.AutosleepSeconds);

            var ids = new List<string>();
            await foreach (var machine in client.Machines.ListAsync(limit: 1, ct))
            {
                ids.Add(machine.MachineId);
            }

            Assert.Contains(created.MachineId, ids);
            Assert.Contains(server.MachineId, ids);
            Assert.Equal(ids.Count, ids.Distinct().Count());

            var key = SshKeyPair.GenerateEd25519();
            var session = await client.Machines.Ssh.CreateAsync(server.MachineId, key.PublicKey, ct);
            session = await client.Machines.Ssh.WaitUntilReadyAsync(session, TimeSpan.FromSeconds(60), cancellationToken: ct);
            var again = await client.Machines.Ssh.RetrieveAsync(server.MachineId, session.SessionId, ct);
            Assert.Equal(SshSessionStatuses.Ready, again.Status);
            var sessions = new List<string>();
            await foreach (var listed in client.Machines.Ssh.ListAsync(server.MachineId, limit: 1, ct))
            {
                sessions.Add(listed.SessionId);
            }

            Assert.Contains(session.SessionId, sessions);
            var closed = await client.Machines.Ssh.DeleteAsync(server.MachineId, session.SessionId, ct);
            Assert.Equal(SshSessionStatuses.Closed, closed.Status);

            await client.WaitForPhaseAsync(created.MachineId, MachinePhases.Running, ct);
            var sleeping = await client.Machines.SleepAsync(created.MachineId, ct);
            Assert.Equal(DesiredStates.Sleeping, sleeping.DesiredState);
            await client.WaitForPhaseAsync(created.MachineId, MachinePhases.Sleeping, ct);
            var woken = await client.Machines.WakeAsync(created.MachineId, ct);
            Assert.Equal(DesiredStates.Running, woken.DesiredState);

            var phases = new List<string>();
            await foreach (var machine in client.Machines.WatchAsync(created.MachineId, cancellationToken: ct))
            {
                phases.Add(machine.Status.Phase);
                if (machine.Status.Phase == MachinePhases.Running)
                {
                    break;
                }
            }

            Assert.Equal(MachinePhases.Running, phases[^1]);
        }
        finally
        {
            var deleted = await client.Machines.DeleteAsync(created.MachineId, ct);
            Assert.Equal(DesiredStates.Destroyed, deleted.DesiredState);
        }
    }

    [Fact]
    public async Task A_session_on_a_sleeping_machine_waits_through_the_wake_and_connect_runs_a_command()
    {
        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await client.Machines.SleepAsync(server.MachineId, cts.Token);
        await client.WaitForPhaseAsync(server.MachineId, MachinePhases.Sleeping, cts.Token);

        var key = SshKeyPair.GenerateEd25519();
        var session = await client.Machines.Ssh.CreateAsync(server.MachineId, key.PublicKey, cts.Token);
        // The server holds the create while the machine wakes: ready at once, unless the wake outlasts the hold.
        Assert.Contains(session.Status, new[] { SshSessionStatuses.Ready, SshSessionStatuses.WakeInProgress });
        var statuses = new List<string>();
        var ready = await client.Machines.Ssh.WaitUntilReadyAsync(session, TimeSpan.FromSeconds(60), new Collect(statuses), cts.Token);
        Assert.Equal(SshSessionStatuses.Ready, ready.Status);

        using var ssh = await client.Machines.Ssh.ConnectAsync(server.MachineId, cancellationToken: cts.Token);
        using var command = ssh.RunCommand("echo hi from $(id -un); exit 4");
        Assert.Equal("hi from machine\n", command.Result);
        Assert.Equal(4, command.ExitStatus);
    }

    [Fact]
    public async Task Wrong_key_and_unknown_machine_raise_typed_errors()
    {
        using var wrong = server.CreateClient("dk_wrong");
        using var client = server.CreateClient();

        var auth = await Assert.ThrowsAsync<DedalusAuthenticationException>(() => wrong.Machines.RetrieveAsync(server.MachineId));
        var missing = await Assert.ThrowsAsync<DedalusNotFoundException>(() => client.Machines.RetrieveAsync("dm-00000000-0000-4000-8000-000000000000"));

        Assert.Equal(401, (int)auth.StatusCode);
        Assert.Equal(404, (int)missing.StatusCode);
    }

    private sealed class Collect(List<string> statuses) : IProgress<SshSession>
    {
        public void Report(SshSession value) => statuses.Add(value.Status);
    }
}
