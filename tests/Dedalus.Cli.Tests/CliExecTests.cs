using System.Text.Json;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Cli.Tests;

/// <summary>
/// <c>dedalus machines exec</c> and <c>dedalus machines executions</c> as a process against a stub API that plays one
/// execution: what reaches the server, what reaches stdout and stderr, and the exit code.
/// </summary>
public sealed class CliExecTests : IDisposable
{
    private const string ExecutionId = "ex-0123456789abcdef0123456789abcdef";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly CliProgram _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Exec_streams_stdout_and_stderr_apart_and_exits_with_the_commands_code()
    {
        await using var api = await StartAsync(
            Ended(ExecutionStatuses.Failed, exitCode: 3, errorCode: ExecutionErrorCodes.NonzeroExit, message: "exited with code 3"),
            Lifecycle(1, ExecutionStatuses.Running), Chunk(2, "stdout", "out\n"), Chunk(3, "stderr", "err\n"), Chunk(4, "stdout", "more"),
            Lifecycle(5, ExecutionStatuses.Failed));

        var result = await RunAsync(api, "machines", "exec", Samples.MachineId, "--", "sh", "-c", "echo out; echo err >&2; exit 3");

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Equal("out\nmore", result.StandardOutput);
        Assert.Equal("err\n", result.StandardError);
        var create = Assert.Single(api.Requests, r => r.Method == "POST");
        using var body = JsonDocument.Parse(create.Body);
        Assert.Equal(["command"], body.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["sh", "-c", "echo out; echo err >&2; exit 3"], body.RootElement.GetProperty("command").EnumerateArray().Select(a => a.GetString()));
        Assert.DoesNotContain(api.Requests, r => r.Method == "DELETE");
    }

    [Fact]
    public async Task Exec_sends_cwd_env_timeout_and_its_own_stdin()
    {
        await using var api = await StartAsync(Ended(ExecutionStatuses.Succeeded, exitCode: 0), Lifecycle(1, ExecutionStatuses.Succeeded));
        _cli.Environment["FROM_CLI"] = "inherited value";
        await using var process = _cli.Start(
            "--base-url", api.BaseUrl.ToString(), "--api-key", "k",
            "machines", "exec", "--machine-id", Samples.MachineId, "--cwd", "/tmp", "--env", "A=1", "--env", "FROM_CLI", "--timeout", "1m30s", "--stdin",
            "--", "cat");
        using var cts = new CancellationTokenSource(Limit);
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);

        await process.StandardInput.WriteAsync("line one\nl\u00efne two\n".AsMemory(), cts.Token);
        process.StandardInput.Close();
        var exitCode = await process.WaitForExitAsync(Limit);

        Assert.True(exitCode == 0, await stderr);
        Assert.Empty(await stdout);
        using var body = JsonDocument.Parse(Assert.Single(api.Requests, r => r.Method == "POST").Body);
        var root = body.RootElement;
        Assert.Equal("/tmp", root.GetProperty("cwd").GetString());
        Assert.Equal("1", root.GetProperty("env").GetProperty("A").GetString());
        Assert.Equal("inherited value", root.GetProperty("env").GetProperty("FROM_CLI").GetString());
        Assert.Equal(90_000, root.GetProperty("timeout_ms").GetInt64());
        Assert.Equal("line one\nl\u00efne two\n", root.GetProperty("stdin").GetString());
    }

    [Fact]
    public async Task More_than_one_mebibyte_of_stdin_is_a_usage_error_and_nothing_is_sent()
    {
        await using var api = await StartAsync(Ended(ExecutionStatuses.Succeeded, exitCode: 0));
        var file = Path.Combine(_cli.Root, "big.txt");
        await File.WriteAllTextAsync(file, new string('x', 1024 * 1024 + 1));

        var result = await RunAsync(api, "machines", "exec", Samples.MachineId, "--stdin-file", file, "--", "cat");

        Assert.Equal(2, result.ExitCode);
        CliErrorTests.AssertOneLine(result.StandardError, "has more than 1 MiB, the most an execution's stdin may carry");
        Assert.Empty(api.Requests);
    }

    [Theory]
    [InlineData(ExecutionErrorCodes.Timeout, "timed out after 1 s: SIGTERM, then SIGKILL")]
    [InlineData(ExecutionErrorCodes.StartFailed, "cannot start 'nope': no such file or directory")]
    [InlineData(ExecutionErrorCodes.MachineStopped, "the machine went to sleep while the command ran")]
    public async Task An_execution_that_ends_without_an_exit_code_prints_the_reason_and_exits_125(string errorCode, string message)
    {
        await using var api = await StartAsync(
            Ended(ExecutionStatuses.Failed, signal: errorCode == ExecutionErrorCodes.Timeout ? 15 : null, errorCode: errorCode, message: message),
            Chunk(1, "stdout", "partial\n"), Lifecycle(2, ExecutionStatuses.Failed));

        var result = await RunAsync(api, "machines", "exec", Samples.MachineId, "--", "sleep", "5");

        Assert.Equal(125, result.ExitCode);
        Assert.Equal("partial\n", result.StandardOutput);
        Assert.Equal("dedalus: " + message + "\n", result.StandardError);
    }

    [Fact]
    public async Task A_command_killed_by_a_signal_exits_128_plus_its_number()
    {
        await using var api = await StartAsync(
            Ended(ExecutionStatuses.Failed, signal: 9, errorCode: ExecutionErrorCodes.KilledBySignal, message: "killed by signal 9"),
            Lifecycle(1, ExecutionStatuses.Failed));

        var result = await RunAsync(api, "machines", "exec", Samples.MachineId, "--", "sh", "-c", "kill -9 $$");

        Assert.Equal(137, result.ExitCode);
        Assert.Empty(result.StandardError);
    }

    [Fact]
    public async Task Truncated_output_is_mentioned_once_after_it()
    {
        await using var api = await StartAsync(
            Ended(ExecutionStatuses.Succeeded, exitCode: 0) with { StdoutBytes = 52_428_800, StdoutTruncated = true, StderrTruncated = false },
            Chunk(1, "stdout", "kept"), Lifecycle(2, ExecutionStatuses.Succeeded));

        var result = await RunAsync(api, "machines", "exec", Samples.MachineId, "--", "head", "-c", "50M", "/dev/zero");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("kept", result.StandardOutput);
        CliErrorTests.AssertOneLine(result.StandardError, "dedalus: the server kept only the first part of the command's stdout (52428800 bytes were written)");
    }

    [Theory]
    [InlineData("TERM", 143)]
    [InlineData("INT", 130)]
    public async Task A_signal_cancels_the_execution_on_the_server_then_exits_128_plus_its_number(string signal, int expected)
    {
        var deleted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapPost("/v1/machines/{id}/executions", () => Json(Ended(ExecutionStatuses.Running)));
            app.MapGet("/v1/machines/{id}/executions/{eid}/events", async (string? cursor, HttpContext context) =>
            {
                if (cursor is null)
                {
                    return Page("c1", Lifecycle(1, ExecutionStatuses.Running), Chunk(2, "stdout", "started\n"));
                }

                await Task.Delay(Timeout.Infinite, context.RequestAborted);
                return Results.StatusCode(500);
            });
            app.MapDelete("/v1/machines/{id}/executions/{eid}", () =>
            {
                deleted.TrySetResult();
                return Json(Ended(ExecutionStatuses.Cancelled, errorCode: ExecutionErrorCodes.Cancelled));
            });
        });
        await using var process = _cli.Start("--base-url", api.BaseUrl.ToString(), "--api-key", "k", "machines", "exec", Samples.MachineId, "--", "sleep", "600");
        using var cts = new CancellationTokenSource(Limit);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        Assert.Equal("started", await process.StandardOutput.ReadLineAsync(cts.Token));

        await process.SignalAsync(signal);
        var exitCode = await process.WaitForExitAsync(Limit);

        Assert.Equal(expected, exitCode);
        Assert.Equal("dedalus: cancelled\n", await stderr);
        Assert.True(deleted.Task.IsCompleted, "the execution was not cancelled on the server");
        var delete = Assert.Single(api.Requests, r => r.Method == "DELETE");
        Assert.Equal($"/v1/machines/{Samples.MachineId}/executions/{ExecutionId}", delete.PathAndQuery);
    }

    [Fact]
    public async Task A_reader_that_goes_away_cancels_the_execution_and_exits_as_sigpipe_would()
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapPost("/v1/machines/{id}/executions", () => Json(Ended(ExecutionStatuses.Running)));
            app.MapGet("/v1/machines/{id}/executions/{eid}/events", async (string? cursor, HttpContext context) =>
            {
                switch (cursor)
                {
                    case null:
                        return Page("c1", Chunk(1, "stdout", "first\n"));
                    case "c1":
                        await closed.Task.WaitAsync(context.RequestAborted);
                        return Page("c2", Chunk(2, "stdout", "second\n"));
                    default:
                        await Task.Delay(Timeout.Infinite, context.RequestAborted);
                        return Results.StatusCode(500);
                }
            });
            app.MapDelete("/v1/machines/{id}/executions/{eid}", () => Json(Ended(ExecutionStatuses.Cancelled, errorCode: ExecutionErrorCodes.Cancelled)));
        });
        await using var process = _cli.Start("--base-url", api.BaseUrl.ToString(), "--api-key", "k", "machines", "exec", Samples.MachineId, "--", "yes");
        using var cts = new CancellationTokenSource(Limit);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        Assert.Equal("first", await process.StandardOutput.ReadLineAsync(cts.Token));

        process.StandardOutput.Close(); // `| head -1`
        closed.TrySetResult();
        var exitCode = await process.WaitForExitAsync(Limit);

        Assert.Equal(141, exitCode);
        Assert.Empty(await stderr);
        Assert.Single(api.Requests, r => r.Method == "DELETE");
    }

    [Fact]
    public async Task Executions_list_get_output_events_and_cancel_print_the_servers_answers()
    {
        await using var api = await StartAsync(
            Ended(ExecutionStatuses.Succeeded, exitCode: 0),
            Lifecycle(1, ExecutionStatuses.Running), Chunk(2, "stdout", "hi\n"), Lifecycle(3, ExecutionStatuses.Succeeded));
        string[] ids = ["--machine-id", Samples.MachineId, "--execution-id", ExecutionId, "--format", "raw"];

        var list = await RunAsync(api, "machines", "executions", "list", "--machine-id", Samples.MachineId, "--format", "raw");
        var get = await RunAsync(api, ["machines", "executions", "get", .. ids]);
        var retrieve = await RunAsync(api, ["machines", "executions", "retrieve", .. ids]);
        var output = await RunAsync(api, ["machines", "executions", "output", .. ids]);
        var events = await RunAsync(api, ["machines", "executions", "events", .. ids]);
        var cancel = await RunAsync(api, ["machines", "executions", "cancel", .. ids]);

        foreach (var result in new[] { list, get, retrieve, output, events, cancel })
        {
            Assert.True(result.ExitCode == 0, result.ToString());
        }

        Assert.Equal(ExecutionId, JsonDocument.Parse(list.StandardOutput).RootElement[0].GetProperty("execution_id").GetString());
        Assert.Equal(0, JsonDocument.Parse(get.StandardOutput).RootElement.GetProperty("exit_code").GetInt32());
        Assert.Equal(get.StandardOutput, retrieve.StandardOutput);
        Assert.Equal("hi\n", JsonDocument.Parse(output.StandardOutput).RootElement.GetProperty("stdout").GetString());
        Assert.Equal([1, 2, 3], JsonDocument.Parse(events.StandardOutput).RootElement.EnumerateArray().Select(e => e.GetProperty("sequence").GetInt32()));
        Assert.Equal(ExecutionStatuses.Cancelled, JsonDocument.Parse(cancel.StandardOutput).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_unknown_execution_points_at_the_executions_list()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/executions/{eid}", () =>
            StubApi.Error(404, ErrorCodes.NotFound, "no execution ex-404 on this machine", resource: NotFoundResources.Execution)));

        var result = await RunAsync(api, "machines", "executions", "get", "--machine-id", Samples.MachineId, "--execution-id", "ex-404");

        Assert.Equal(11, result.ExitCode);
        CliErrorTests.AssertOneLine(result.StandardError, "(HTTP 404 NOT_FOUND): check the execution id with `dedalus machines executions list --machine-id <id>`");
    }

    [Theory]
    [InlineData("cwd", "cwd must be an absolute path", "dedalus: --cwd must be an absolute path")]
    [InlineData("command", "command must not be empty", "dedalus: command must not be empty")]
    public async Task A_rejected_field_is_named_by_its_flag(string field, string serverMessage, string expected)
    {
        await using var api = await StubApi.StartAsync(app => app.MapPost("/v1/machines/{id}/executions", () =>
            StubApi.Error(400, ErrorCodes.InvalidRequest, serverMessage, field: field)));

        var result = await RunAsync(api, "machines", "exec", Samples.MachineId, "--cwd", "tmp", "--", "true");

        Assert.Equal(13, result.ExitCode);
        CliErrorTests.AssertOneLine(result.StandardError, expected);
    }

    [Theory]
    [InlineData("machines", "exec")]
    [InlineData("machines", "executions", "list")]
    public async Task Help_shows_examples(params string[] command)
    {
        var result = await _cli.RunAsync([.. command, "--help"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Examples:\n  dedalus " + string.Join(' ', command), result.StandardOutput.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    private Task<ProcessResult> RunAsync(StubApi api, params string[] arguments) =>
        _cli.RunAsync(["--base-url", api.BaseUrl.ToString(), "--api-key", "k", .. arguments]);

    /// <summary>A stub API with one execution: created running, these events (one page each), then <paramref name="final"/>.</summary>
    private static Task<StubApi> StartAsync(Execution final, params ExecutionEvent[] events) =>
        StubApi.StartAsync(app =>
        {
            app.MapPost("/v1/machines/{id}/executions", () => Json(Ended(ExecutionStatuses.Running)));
            app.MapGet("/v1/machines/{id}/executions", () =>
                Results.Json(new ExecutionList([final]), DedalusJsonContext.Default.ExecutionList));
            app.MapGet("/v1/machines/{id}/executions/{eid}", () => Json(final));
            app.MapDelete("/v1/machines/{id}/executions/{eid}", () => Json(Ended(ExecutionStatuses.Cancelled, errorCode: ExecutionErrorCodes.Cancelled)));
            app.MapGet("/v1/machines/{id}/executions/{eid}/output", () => Results.Json(
                new ExecutionOutput(ExecutionId, string.Concat(events.Where(e => e.Type == "stdout").Select(e => e.Chunk)), string.Concat(events.Where(e => e.Type == "stderr").Select(e => e.Chunk))),
                DedalusJsonContext.Default.ExecutionOutput));
            app.MapGet("/v1/machines/{id}/executions/{eid}/events", (string? cursor) =>
            {
                // One event a page: cursor "N" is after the N-th; the last page has none.
                var after = cursor is null ? 0 : int.Parse(cursor, System.Globalization.CultureInfo.InvariantCulture);
                var page = events.Skip(after).Take(1).ToArray();
                return Page(after + page.Length < events.Length ? (after + page.Length).ToString(System.Globalization.CultureInfo.InvariantCulture) : null, page);
            });
        });

    private static Execution Ended(string status, int? exitCode = null, int? signal = null, string? errorCode = null, string? message = null) =>
        new(ExecutionId, Samples.MachineId, status, DateTimeOffset.UnixEpoch, new LogCapture(), ["true"],
            ExitCode: exitCode, Signal: signal, ErrorCode: errorCode, ErrorMessage: message);

    private static ExecutionEvent Lifecycle(long sequence, string status) => new(sequence, ExecutionEventTypes.Lifecycle, DateTimeOffset.UnixEpoch, Status: status);

    private static ExecutionEvent Chunk(long sequence, string type, string text) => new(sequence, type, DateTimeOffset.UnixEpoch, Chunk: text);

    private static IResult Json(Execution execution) => Results.Json(execution, DedalusJsonContext.Default.Execution);

    private static IResult Page(string? next, params ExecutionEvent[] events) =>
        Results.Json(new ExecutionEventList(events, next), DedalusJsonContext.Default.ExecutionEventList);
}
