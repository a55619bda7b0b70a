using Microsoft.AspNetCore.Builder;

namespace Dedalus.Cli.Tests;

/// <summary>
/// Issue #10, point 1, in the CLI: <c>dedalus machines ssh delete --machine-id M --session-id ..</c> destroyed machine M.
/// Every command that takes an id checks it before anything is sent: one line on stderr, exit 2 (usage), and the server
/// (a stub that would answer anything) sees no request.
/// </summary>
public sealed class CliIdValidationTests : IAsyncLifetime, IDisposable
{
    private readonly CliProgram _cli = new();
    private StubApi _api = null!;

    public static TheoryData<string> BadSessionIds => ["..", ".", "%2e%2e", ".%2e", "../..", "a/b", "a\\b", "ss-1;x", "ss-1?x", " ss-1", "ss-é", ""];

    public static TheoryData<string> BadMachineIds => ["..", ".", "%2e%2e", Samples.MachineId + "/..", "../" + Samples.MachineId, Samples.MachineId + "%2f", "dm-nope"];

    /// <summary>Neither an id nor a name: the commands that take a machine's name refuse these (names have no '/', no control characters, no blank ends).</summary>
    public static TheoryData<string> BadMachines => ["..", ".", Samples.MachineId + "/..", "../" + Samples.MachineId, "a/b", " web", "web ", "web\u001b[2J", new string('w', 64)];

    public async Task InitializeAsync()
    {
        _api = await StubApi.StartAsync(app => app.Map("/{**path}", () => Wire.Json(Samples.Session(SshSessionStatuses.Closed))));
        _cli.Environment["DEDALUS_BASE_URL"] = _api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = "k";
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public void Dispose() => _cli.Dispose();

    [Theory]
    [MemberData(nameof(BadSessionIds))]
    public async Task A_session_id_that_is_not_one_is_a_usage_error_and_nothing_is_sent(string sessionId)
    {
        foreach (var command in new[] { "delete", "retrieve" })
        {
            var result = await _cli.RunAsync("machines", "ssh", command, "--machine-id", Samples.MachineId, "--session-id", sessionId);

            Assert.True(result.ExitCode == 2, result.ToString());
            AssertOneLine(result.StandardError, $"dedalus: '{sessionId}' is not an ssh session id: pass ss-<hex>");
        }

        Assert.Empty(_api.Requests);
    }

    [Theory]
    [MemberData(nameof(BadMachines))]
    public async Task A_machine_that_is_neither_an_id_nor_a_name_is_a_usage_error_in_every_command_and_nothing_is_sent(string machine)
    {
        string[][] commands =
        [
            ["machines", "retrieve", "--machine-id", machine],
            ["machines", "retrieve", machine],
            ["machines", "update", "--machine-id", machine, "--vcpu", "2"],
            ["machines", "delete", "--machine-id", machine],
            ["machines", "sleep", machine],
            ["machines", "wake", "--machine-id", machine],
            ["machines", "reboot", machine],
            ["machines", "watch", "--machine-id", machine],
            ["machines", "autoresizing", "get", machine],
            ["machines:autoresizing", "update", "--machine-id", machine, "--enabled"],
            ["machines", "ssh", "create", "--machine-id", machine, "--public-key", "ssh-ed25519 AAAA"],
            ["machines", "ssh", "list", "--machine-id", machine],
            ["machines:ssh", "retrieve", "--machine-id", machine, "--session-id", "ss-01"],
            ["machines", "ssh", "delete", "--machine-id", machine, "--session-id", "ss-01"],
            ["machines", "executions", "list", "--machine-id", machine],
            ["doctor", machine],
            ["ssh", machine, "--", "true"],
            ["machines", "exec", machine, "--", "true"],
        ];

        foreach (var command in commands)
        {
            var result = await _cli.RunAsync(command);

            Assert.True(result.ExitCode == 2, $"{string.Join(' ', command)}: {result}");
            AssertOneLine(result.StandardError, $"dedalus: '{new string([.. machine.Take(80).Select(c => char.IsControl(c) ? '?' : c)])}' is not a machine id or name");
        }

        Assert.Empty(_api.Requests);
    }

    [Theory]
    [MemberData(nameof(BadMachineIds))]
    public async Task A_machine_id_that_is_not_one_is_a_usage_error_where_only_an_id_goes_and_nothing_is_sent(string machineId)
    {
        string[][] commands =
        [
            ["ssh-cert", machineId],
        ];

        foreach (var command in commands)
        {
            var result = await _cli.RunAsync(command);

            Assert.True(result.ExitCode == 2, $"{string.Join(' ', command)}: {result}");
            AssertOneLine(result.StandardError, $"dedalus: '{machineId}' is not a machine id");
        }

        Assert.Empty(_api.Requests);
    }

    [Fact]
    public async Task A_last_event_id_with_a_control_character_is_a_usage_error()
    {
        var result = await _cli.RunAsync("machines", "watch", "--machine-id", Samples.MachineId, "--last-event-id", "7\u001b[2J");

        Assert.True(result.ExitCode == 2, result.ToString());
        AssertOneLine(result.StandardError, "dedalus: --last-event-id must be an event id");
        Assert.Empty(_api.Requests);
    }

    [Fact]
    public async Task A_well_formed_session_id_reaches_the_server_as_one_segment()
    {
        var result = await _cli.RunAsync("machines", "ssh", "delete", "--machine-id", Samples.MachineId, "--session-id", "ss-0123abcd");

        Assert.True(result.ExitCode == 0, result.ToString());
        var request = Assert.Single(_api.Requests);
        Assert.Equal(("DELETE", $"/v1/machines/{Samples.MachineId}/ssh/ss-0123abcd"), (request.Method, request.PathAndQuery));
    }

    private static void AssertOneLine(string standardError, string expectedStart)
    {
        var lines = standardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, standardError);
        Assert.StartsWith(expectedStart, lines[0], StringComparison.Ordinal);
    }
}
