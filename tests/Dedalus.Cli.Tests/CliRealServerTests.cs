using System.Text.Json;

namespace Dedalus.Cli.Tests;

/// <summary><c>dedalus</c> against the real control plane, gateway and runc machines.</summary>
public sealed partial class CliRealServerTests(RealServer server) : IClassFixture<RealServer>, IDisposable
{
    private readonly CliProgram _cli = CreateCli(server);

    public void Dispose() => _cli.Dispose();

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
        var before = await SessionStatusesAsync();
        var closing = await _cli.RunAsync("ssh", server.MachineId, "--", "true");
        var afterClosing = await SessionStatusesAsync();
        for (var i = 0; i < 100 && afterClosing.Values.Contains(SshSessionStatuses.Ready); i++)
        {
            // The close is handed to a detached child: give it a moment.
            await Task.Delay(100);
            afterClosing = await SessionStatusesAsync();
        }

        var kept = await _cli.RunAsync("ssh", server.MachineId, "--keep-session", "--", "true");
        var afterKept = await SessionStatusesAsync();

        Assert.True(closing.ExitCode == 0, closing.ToString());
        Assert.True(kept.ExitCode == 0, kept.ToString());
        var closedSession = Assert.Single(afterClosing.Keys.Except(before.Keys));
        Assert.Equal(SshSessionStatuses.Closed, afterClosing[closedSession]);
        var keptSession = Assert.Single(afterKept.Keys.Except(afterClosing.Keys));
        Assert.Equal(SshSessionStatuses.Ready, afterKept[keptSession]);
        var deleted = await _cli.RunAsync("machines", "ssh", "delete", "--machine-id", server.MachineId, "--session-id", keptSession, "--format", "raw");
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
    }

    /// <summary>The machine's sessions by id, as <c>dedalus machines ssh list</c> shows them.</summary>
    private async Task<Dictionary<string, string>> SessionStatusesAsync()
    {
        var list = await _cli.RunAsync("machines", "ssh", "list", "--machine-id", server.MachineId, "--format", "raw");
        Assert.True(list.ExitCode == 0, list.ToString());
        using var sessions = JsonDocument.Parse(list.StandardOutput);
        return sessions.RootElement.EnumerateArray().ToDictionary(
            session => session.GetProperty("session_id").GetString()!,
            session => session.GetProperty("status").GetString()!,
            StringComparer.Ordinal);
    }

    [Fact]
    public async Task Cli_ssh_is_stopped_by_sigterm_without_leftovers()
    {
        await using var process = _cli.Start("ssh", server.MachineId, "--", "echo started; sleep 30");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Assert.Equal("started", await process.StandardOutput.ReadLineAsync(cts.Token));

        await process.SignalAsync("TERM");
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(143, process.ExitCode);
        Assert.EndsWith("dedalus: cancelled\n", await process.StandardError.ReadToEndAsync(cts.Token), StringComparison.Ordinal);
        Assert.Empty(_cli.Leftovers());
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

    [Fact]
    public async Task The_real_servers_404s_point_at_the_machine_id_the_session_id_or_the_base_url()
    {
        var machine = await _cli.RunAsync("machines", "retrieve", "--machine-id", "dm-00000000-0000-4000-8000-000000000000");
        var session = await _cli.RunAsync("machines", "ssh", "retrieve", "--machine-id", server.MachineId, "--session-id", "ssh-00000000000000000000000000");
        // One /v1 is dropped from a base URL copied with it; a second one reaches no operation of the API.
        var address = await _cli.RunAsync("--base-url", server.BaseUrl.ToString().TrimEnd('/') + "/v1/v1", "machines", "list");

        Assert.Equal(11, machine.ExitCode);
        CliErrorTests.AssertOneLine(machine.StandardError, "(HTTP 404 NOT_FOUND): check the id with `dedalus machines list`");
        Assert.Equal(11, session.ExitCode);
        CliErrorTests.AssertOneLine(session.StandardError, "(HTTP 404 NOT_FOUND): check the session id with `dedalus machines ssh list --machine-id <id>`");
        Assert.Equal(11, address.ExitCode);
        CliErrorTests.AssertOneLine(address.StandardError, "(HTTP 404 NOT_FOUND): is this a Dedalus server? check DEDALUS_BASE_URL or --base-url");
    }

    private static CliProgram CreateCli(RealServer server)
    {
        var cli = new CliProgram();
        cli.Environment["DEDALUS_BASE_URL"] = server.BaseUrl.ToString();
        cli.Environment["DEDALUS_API_KEY"] = server.ApiKey;
        return cli;
    }
}
