namespace Dedalus.Client.Tests;

/// <summary>The SDK and the CLI against the real control plane, gateway and runc machines.</summary>
public sealed class RealServerTests(RealServer server) : IClassFixture<RealServer>, IDisposable
{
    private readonly CliProgram _cli = CreateCli(server);

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Every_machine_and_session_call_works_and_lists_page_across_machines()
    {
        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = cts.Token;

        var created = await client.Machines.CreateAsync(new CreateMachineRequest(0.5, 256, 1, "30m"), ct);
        try
        {
            Assert.StartsWith("dm-", created.MachineId, StringComparison.Ordinal);
            var retrieved = await client.Machines.RetrieveAsync(created.MachineId.Replace("dm-", "", StringComparison.Ordinal), ct);
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

            await RealServer.WaitForPhaseAsync(client, created.MachineId, MachinePhases.Running, ct);
            var sleeping = await client.Machines.SleepAsync(created.MachineId, ct);
            Assert.Equal(DesiredStates.Sleeping, sleeping.DesiredState);
            await RealServer.WaitForPhaseAsync(client, created.MachineId, MachinePhases.Sleeping, ct);
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
        await RealServer.WaitForPhaseAsync(client, server.MachineId, MachinePhases.Sleeping, cts.Token);

        var key = SshKeyPair.GenerateEd25519();
        var session = await client.Machines.Ssh.CreateAsync(server.MachineId, key.PublicKey, cts.Token);
        Assert.Equal(SshSessionStatuses.WakeInProgress, session.Status);
        var statuses = new List<string>();
        var ready = await client.Machines.Ssh.WaitUntilReadyAsync(session, TimeSpan.FromSeconds(60), new Collect(statuses), cts.Token);
        Assert.Equal(SshSessionStatuses.Ready, ready.Status);
        Assert.Equal(SshSessionStatuses.WakeInProgress, statuses[0]);

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

    [Fact]
    public async Task Cli_ssh_prints_output_passes_exit_codes_and_leaves_nothing_behind()
    {
        var hi = await _cli.RunAsync("ssh", server.MachineId, "--", "echo", "hi");
        var seven = await _cli.RunAsync("ssh", server.MachineId, "--", "exit", "7");

        Assert.True(hi.ExitCode == 0, hi.ToString());
        Assert.Equal("hi\n", hi.StandardOutput);
        Assert.Equal(7, seven.ExitCode);
        Assert.Empty(_cli.Leftovers());
    }

    [Fact]
    public async Task Cli_ssh_closes_its_session_when_ssh_exits_unless_asked_to_keep_it()
    {
        using var client = server.CreateClient();

        var before = await SessionStatusesAsync(client);
        var closing = await _cli.RunAsync("ssh", server.MachineId, "--", "true");
        var afterClosing = await SessionStatusesAsync(client);
        var kept = await _cli.RunAsync("ssh", server.MachineId, "--keep-session", "--", "true");
        var afterKept = await SessionStatusesAsync(client);

        Assert.True(closing.ExitCode == 0, closing.ToString());
        Assert.True(kept.ExitCode == 0, kept.ToString());
        var closedSession = Assert.Single(afterClosing.Keys.Except(before.Keys));
        Assert.Equal(SshSessionStatuses.Closed, afterClosing[closedSession]);
        var keptSession = Assert.Single(afterKept.Keys.Except(afterClosing.Keys));
        Assert.Equal(SshSessionStatuses.Ready, afterKept[keptSession]);
        await client.Machines.Ssh.DeleteAsync(server.MachineId, keptSession);
    }

    private async Task<Dictionary<string, string>> SessionStatusesAsync(DedalusClient client)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var statuses = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var session in client.Machines.Ssh.ListAsync(server.MachineId, cancellationToken: cts.Token))
        {
            statuses[session.SessionId] = session.Status;
        }

        return statuses;
    }

    [Fact]
    public async Task Cli_ssh_is_stopped_by_sigterm_without_leftovers()
    {
        using var process = _cli.Start("ssh", server.MachineId, "--", "echo started; sleep 30");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            Assert.Equal("started", await process.StandardOutput.ReadLineAsync(cts.Token));
            await Dedalus.Testing.ProcessRunner.RunAsync("kill", "-s", "TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await process.WaitForExitAsync(cts.Token);

            Assert.Equal(143, process.ExitCode);
            Assert.Empty(_cli.Leftovers());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task Scp_and_rsync_reach_the_machine_through_the_generated_ssh_config()
    {
        var generated = await _cli.RunAsync("ssh-config");
        Assert.True(generated.ExitCode == 0, generated.ToString());
        var config = Path.Combine(_cli.Root, "ssh_config");
        File.WriteAllText(config, generated.StandardOutput);
        var source = Path.Combine(_cli.Root, "payload.txt");
        File.WriteAllText(source, "payload\n");

        var scp = await _cli.RunToolAsync("scp", "-F", config, "-o", "BatchMode=yes", source, $"{server.MachineId}:scp.txt");
        var rsync = await _cli.RunToolAsync("rsync", "-e", $"ssh -F {config} -o BatchMode=yes", source, $"{server.MachineId}:rsync.txt");
        var cat = await _cli.RunToolAsync("ssh", "-F", config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", server.MachineId, "cat", "scp.txt", "rsync.txt");

        Assert.True(scp.ExitCode == 0, scp.ToString());
        Assert.True(rsync.ExitCode == 0, rsync.ToString());
        Assert.True(cat.ExitCode == 0, cat.ToString());
        Assert.Equal("payload\npayload\n", cat.StandardOutput);
    }

    [Fact]
    public async Task Cli_reports_a_wrong_key_and_an_unknown_machine_on_one_line()
    {
        var wrong = await _cli.RunAsync("--api-key", "dk_wrong", "ssh", server.MachineId, "--", "true");
        var unknown = await _cli.RunAsync("machines", "retrieve", "--machine-id", "00000000-0000-4000-8000-000000000000");

        Assert.Equal(10, wrong.ExitCode);
        Assert.Equal(1, wrong.StandardError.Count(c => c == '\n'));
        Assert.Equal(11, unknown.ExitCode);
        Assert.Equal(1, unknown.StandardError.Count(c => c == '\n'));
        Assert.Empty(_cli.Leftovers());
    }

    private static CliProgram CreateCli(RealServer server)
    {
        var cli = new CliProgram();
        cli.Environment["DEDALUS_BASE_URL"] = server.BaseUrl.ToString();
        cli.Environment["DEDALUS_API_KEY"] = server.ApiKey;
        return cli;
    }

    private sealed class Collect(List<string> statuses) : IProgress<SshSession>
    {
        public void Report(SshSession value) => statuses.Add(value.Status);
    }
}
