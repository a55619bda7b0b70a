using System.Text.Json;

namespace Dedalus.Cli.Tests;

/// <summary><c>dedalus machines exec</c> and <c>dedalus machines executions</c> against the real server and a runc machine.</summary>
public sealed partial class CliRealServerTests
{
    private static readonly TimeSpan ExecLimit = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Exec_keeps_stdout_and_stderr_apart_and_exits_with_the_commands_code()
    {
        var result = await _cli.RunAsync(ExecLimit, "machines", "exec", server.MachineId, "--", "sh", "-c", "echo out; echo err >&2; exit 3");
        var flagged = await _cli.RunAsync(ExecLimit, "machines", "exec", "--machine-id", server.MachineId, "--", "true");

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Equal("out\n", result.StandardOutput);
        Assert.Equal("err\n", result.StandardError);
        Assert.True(flagged.ExitCode == 0, flagged.ToString());
        Assert.Empty(flagged.StandardOutput + flagged.StandardError);
    }

    [Fact]
    public async Task Exec_passes_an_argv_with_spaces_quotes_and_newlines_intact()
    {
        string[] arguments = ["a b", "'single'", "\"double\"", "two\nlines", "", "$HOME", "*", "--cwd"];

        var result = await _cli.RunAsync(ExecLimit, ["machines", "exec", server.MachineId, "--", "printf", "[%s]\\n", .. arguments]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(string.Concat(arguments.Select(a => "[" + a + "]\n")), result.StandardOutput);
    }

    [Fact]
    public async Task Exec_sends_its_own_stdin_when_asked()
    {
        await using var process = _cli.Start("machines", "exec", server.MachineId, "--stdin", "--", "sh", "-c", "tr a-z A-Z; echo done");
        using var cts = new CancellationTokenSource(ExecLimit);
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);

        await process.StandardInput.WriteAsync("hello\nworld\n".AsMemory(), cts.Token);
        process.StandardInput.Close();
        var exitCode = await process.WaitForExitAsync(ExecLimit);

        Assert.True(exitCode == 0, await stderr);
        Assert.Equal("HELLO\nWORLD\ndone\n", await stdout);
    }

    [Fact]
    public async Task Exec_runs_in_the_given_directory_with_the_given_variables()
    {
        _cli.Environment["FROM_CLI"] = "passed through";

        var result = await _cli.RunAsync(
            ExecLimit,
            "machines", "exec", server.MachineId, "--cwd", "/tmp", "--env", "GREETING=hello there", "--env", "FROM_CLI",
            "--", "sh", "-c", "pwd; echo \"[$GREETING] [$FROM_CLI] [${DEDALUS_API_KEY:-unset}]\"");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("/tmp\n[hello there] [passed through] [unset]\n", result.StandardOutput);
    }

    [Fact]
    public async Task Exec_past_its_timeout_prints_the_servers_reason_and_exits_125()
    {
        var result = await _cli.RunAsync(ExecLimit, "machines", "exec", server.MachineId, "--timeout", "1s", "--", "sh", "-c", "echo started; sleep 60");

        Assert.Equal(125, result.ExitCode);
        Assert.Equal("started\n", result.StandardOutput);
        CliErrorTests.AssertOneLine(result.StandardError, "dedalus: ");
        var last = await LastExecutionAsync();
        Assert.Equal(ExecutionErrorCodes.Timeout, last.GetProperty("error_code").GetString());
    }

    [Fact]
    public async Task Exec_is_stopped_by_sigterm_which_cancels_the_execution()
    {
        await using var process = _cli.Start("machines", "exec", server.MachineId, "--", "sh", "-c", "echo started; sleep 600");
        using var cts = new CancellationTokenSource(ExecLimit);
        Assert.Equal("started", await process.StandardOutput.ReadLineAsync(cts.Token));

        await process.SignalAsync("TERM");
        await process.WaitForExitAsync(ExecLimit);

        Assert.Equal(143, process.ExitCode);
        Assert.EndsWith("dedalus: cancelled\n", await process.StandardError.ReadToEndAsync(cts.Token), StringComparison.Ordinal);
        var last = await LastExecutionAsync();
        Assert.Equal(ExecutionStatuses.Cancelled, last.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Executions_list_get_output_and_events_show_a_past_run()
    {
        var run = await _cli.RunAsync(ExecLimit, "machines", "exec", server.MachineId, "--", "sh", "-c", "echo kept; echo also >&2");
        Assert.True(run.ExitCode == 0, run.ToString());
        var id = (await LastExecutionAsync()).GetProperty("execution_id").GetString()!;
        string[] ids = ["--machine-id", server.MachineId, "--execution-id", id, "--format", "raw"];

        var get = await _cli.RunAsync(["machines", "executions", "get", .. ids]);
        var output = await _cli.RunAsync(["machines", "executions", "output", .. ids]);
        var events = await _cli.RunAsync(["machines", "executions", "events", .. ids]);
        var cancel = await _cli.RunAsync(["machines", "executions", "cancel", .. ids]);

        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Equal(ExecutionStatuses.Succeeded, JsonDocument.Parse(get.StandardOutput).RootElement.GetProperty("status").GetString());
        using var kept = JsonDocument.Parse(output.StandardOutput);
        Assert.Equal(("kept\n", "also\n"), (kept.RootElement.GetProperty("stdout").GetString(), kept.RootElement.GetProperty("stderr").GetString()));
        using var listed = JsonDocument.Parse(events.StandardOutput);
        // Each stream in order; stdout and stderr are two pipes, so their chunks may interleave either way.
        string Chunks(string type) => string.Concat(listed.RootElement.EnumerateArray()
            .Where(e => e.GetProperty("type").GetString() == type).Select(e => e.GetProperty("chunk").GetString()));
        Assert.Equal(("kept\n", "also\n"), (Chunks(ExecutionEventTypes.Stdout), Chunks(ExecutionEventTypes.Stderr)));
        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        Assert.Equal(ExecutionStatuses.Succeeded, JsonDocument.Parse(cancel.StandardOutput).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Exec_on_a_sleeping_machine_wakes_it_and_runs_the_command()
    {
        var slept = await _cli.RunAsync("machines", "sleep", "--machine-id", server.MachineId, "--format", "raw");
        Assert.True(slept.ExitCode == 0, slept.ToString());
        Assert.True(await Dedalus.Testing.Eventually.TrueAsync(async () => await PhaseAsync() == MachinePhases.Sleeping, ExecLimit), "the machine did not go to sleep");

        var result = await _cli.RunAsync(ExecLimit, "machines", "exec", server.MachineId, "--", "echo", "awake");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("awake\n", result.StandardOutput);
        Assert.Empty(result.StandardError); // no progress line when stderr is not a terminal
        Assert.Equal(MachinePhases.Running, await PhaseAsync());
    }

    private async Task<string?> PhaseAsync()
    {
        var machine = await _cli.RunAsync("machines", "retrieve", "--machine-id", server.MachineId, "--format", "raw");
        Assert.True(machine.ExitCode == 0, machine.ToString());
        using var json = JsonDocument.Parse(machine.StandardOutput);
        return json.RootElement.GetProperty("status").GetProperty("phase").GetString();
    }

    /// <summary>The machine's newest execution, as <c>dedalus machines executions list</c> shows it (oldest first).</summary>
    private async Task<JsonElement> LastExecutionAsync()
    {
        var list = await _cli.RunAsync("machines", "executions", "list", "--machine-id", server.MachineId, "--format", "raw");
        Assert.True(list.ExitCode == 0, list.ToString());
        using var executions = JsonDocument.Parse(list.StandardOutput);
        return executions.RootElement.EnumerateArray().Last().Clone();
    }
}
