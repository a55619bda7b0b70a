using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Dedalus.Client.Tests.Infrastructure.ExecutionSamples;

namespace Dedalus.Client.Tests;

/// <summary>The executions resource against stub servers: requests on the wire, following, running and cancelling.</summary>
public sealed class ExecutionTests
{
    private const string Executions = "/v1/machines/" + Samples.MachineId + "/executions";
    private const string One = Executions + "/" + ExecutionId;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Create_sends_the_argv_and_its_options_in_the_wire_format_with_an_idempotency_key()
    {
        await using var api = await StubApi.StartAsync(app => app.MapPost("/v1/machines/{id}/executions", () => Json(Execution(ExecutionStatuses.Queued))));
        using var client = api.CreateClient();

        var created = await client.Machines.Executions.CreateAsync(
            Samples.MachineId.ToUpperInvariant(),
            new CreateExecutionRequest(["printf", "%s\n", "a b"], "/tmp", new Dictionary<string, string?> { ["GREETING"] = "hi" }, "in", 30_000));

        Assert.Equal(ExecutionStatuses.Queued, created.Status);
        var request = Assert.Single(api.Requests);
        Assert.Equal(("POST", Executions), (request.Method, request.PathAndQuery));
        Assert.Equal(
            """{"command":["printf","%s\n","a b"],"cwd":"/tmp","env":{"GREETING":"hi"},"stdin":"in","timeout_ms":30000}""",
            request.Body);
        Assert.False(string.IsNullOrEmpty(request.Header(DedalusHeaders.IdempotencyKey)));
    }

    [Fact]
    public async Task Every_call_reaches_its_path_and_only_mutations_carry_an_idempotency_key()
    {
        var token = new ExecutionLogToken("tok", "Bearer", "http://logs.invalid", ExecutionId, "st-1", DateTimeOffset.UnixEpoch);
        var status = new ExecutionLogStatus(ExecutionId, new LogCapture(), StreamId: "st-1", Publication: new LogPublication(false, 0, "active"));
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapGet("/v1/machines/{id}/executions/{eid}", () => Json(Execution()));
            app.MapDelete("/v1/machines/{id}/executions/{eid}", () => Json(Execution(ExecutionStatuses.Cancelled, errorCode: ExecutionErrorCodes.Cancelled)));
            app.MapGet("/v1/machines/{id}/executions/{eid}/output", () => Json(new ExecutionOutput(ExecutionId, "out", "err", 3, 3, false, false)));
            app.MapGet("/v1/machines/{id}/executions/{eid}/events", () => Page("c9", Stdout(1, "x")));
            app.MapGet("/v1/machines/{id}/executions/{eid}/logs", () => Results.Json(status, DedalusJsonContext.Default.ExecutionLogStatus));
            app.MapPost("/v1/machines/{id}/executions/{eid}/logs/reauthorize", () => Results.Json(status, DedalusJsonContext.Default.ExecutionLogStatus));
            app.MapPost("/v1/machines/{id}/executions/{eid}/logs/token", () => Results.Json(token, DedalusJsonContext.Default.ExecutionLogToken));
        });
        using var client = api.CreateClient();
        var executions = client.Machines.Executions;

        Assert.Equal(ExecutionStatuses.Running, (await executions.GetAsync(Samples.MachineId, ExecutionId)).Status);
        Assert.Equal(ExecutionStatuses.Cancelled, (await executions.CancelAsync(Samples.MachineId, ExecutionId)).Status);
        Assert.Equal("err", (await executions.GetOutputAsync(Samples.MachineId, ExecutionId)).Stderr);
        Assert.Equal("c9", (await executions.ListEventsAsync(Samples.MachineId, ExecutionId, limit: 5, cursor: "c/8")).NextCursor);
        Assert.Equal("st-1", (await executions.GetLogsAsync(Samples.MachineId, ExecutionId)).StreamId);
        Assert.Equal("active", (await executions.ReauthorizeLogsAsync(Samples.MachineId, ExecutionId)).Publication!.State);
        Assert.Equal("tok", (await executions.CreateLogTokenAsync(Samples.MachineId, ExecutionId)).AccessToken);

        Assert.Equal(
            [
                ("GET", One, false), ("DELETE", One, true), ("GET", One + "/output", false), ("GET", One + "/events?limit=5&cursor=c%2F8", false),
                ("GET", One + "/logs", false), ("POST", One + "/logs/reauthorize", true), ("POST", One + "/logs/token", true),
            ],
            api.Requests.Select(r => (r.Method, r.PathAndQuery, r.Header(DedalusHeaders.IdempotencyKey) is not null)));
    }

    [Fact]
    public async Task Listing_executions_follows_cursors_across_pages()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/executions", (string? cursor) => cursor switch
        {
            null => Json(new ExecutionList([Execution(id: "ex-1"), Execution(id: "ex-2")], "c2")),
            "c2" => Json(new ExecutionList([Execution(id: "ex-3")])),
            _ => Results.StatusCode(500),
        }));
        using var client = api.CreateClient();

        var ids = new List<string>();
        await foreach (var execution in client.Machines.Executions.ListAsync(Samples.MachineId, limit: 2))
        {
            ids.Add(execution.ExecutionId);
        }

        Assert.Equal(["ex-1", "ex-2", "ex-3"], ids);
        Assert.Equal([Executions + "?limit=2", Executions + "?limit=2&cursor=c2"], api.Requests.Select(r => r.PathAndQuery));
    }

    [Fact]
    public async Task Following_yields_each_event_once_in_order_through_empty_and_repeated_pages_and_asks_the_server_to_wait()
    {
        var emptyOnce = 0;
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/executions/{eid}/events", (string? cursor) => cursor switch
        {
            null => Page("c2", Lifecycle(1, ExecutionStatuses.Running), Stdout(2, "a")),
            // A long poll that ended with nothing new, then a page that repeats an event already given.
            "c2" when Interlocked.Increment(ref emptyOnce) == 1 => Page("c2"),
            "c2" => Page("c3", Stdout(2, "a"), Stderr(3, "b")),
            "c3" => Page(null, Lifecycle(4, ExecutionStatuses.Succeeded, exitCode: 0)),
            _ => Results.StatusCode(500),
        }));
        using var client = api.CreateClient();
        using var cts = new CancellationTokenSource(Limit);

        var events = new List<ExecutionEvent>();
        await foreach (var item in client.Machines.Executions.FollowEventsAsync(Samples.MachineId, ExecutionId, cancellationToken: cts.Token))
        {
            events.Add(item);
        }

        Assert.Equal([1L, 2, 3, 4], events.Select(e => e.Sequence));
        Assert.Equal(["a", "b"], events.Where(e => e.Chunk is not null).Select(e => e.Chunk));
        Assert.All(api.Requests, r => Assert.Contains("wait_ms=", r.PathAndQuery, StringComparison.Ordinal));
        Assert.Equal(4, api.Requests.Count);
    }

    [Fact]
    public async Task Following_after_a_sequence_yields_only_the_later_events()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/executions/{eid}/events", (string? cursor) => cursor switch
        {
            null => Page("c3", Lifecycle(1, ExecutionStatuses.Running), Stdout(2, "a"), Stdout(3, "b")),
            _ => Page(null, Stdout(4, "c"), Lifecycle(5, ExecutionStatuses.Failed, exitCode: 1)),
        }));
        using var client = api.CreateClient();

        var events = new List<long>();
        await foreach (var item in client.Machines.Executions.FollowEventsAsync(Samples.MachineId, ExecutionId, after: 2))
        {
            events.Add(item.Sequence);
        }

        Assert.Equal([3L, 4, 5], events);
    }

    [Fact]
    public async Task A_server_that_refuses_wait_ms_is_polled_without_it()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/executions/{eid}/events", (HttpContext context) =>
            context.Request.Query.ContainsKey("wait_ms")
                ? StubApi.Error(400, ErrorCodes.InvalidRequest, "unknown query parameter wait_ms", field: "wait_ms")
                : Page(null, Stdout(1, "a"), Lifecycle(2, ExecutionStatuses.Succeeded, exitCode: 0))));
        using var client = api.CreateClient();

        var events = new List<long>();
        await foreach (var item in client.Machines.Executions.FollowEventsAsync(Samples.MachineId, ExecutionId))
        {
            events.Add(item.Sequence);
        }

        Assert.Equal([1L, 2], events);
        Assert.Equal(2, api.Requests.Count);
        Assert.DoesNotContain("wait_ms", api.Requests.Last().PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_reports_the_state_and_every_chunk_and_returns_the_exit_code_and_kept_output()
    {
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapPost("/v1/machines/{id}/executions", () => Json(Execution(ExecutionStatuses.WakeInProgress)));
            app.MapGet("/v1/machines/{id}/executions/{eid}/events", (string? cursor) => cursor switch
            {
                null => Page("c2", Lifecycle(1, ExecutionStatuses.WakeInProgress), Lifecycle(2, ExecutionStatuses.Running), Stdout(3, "out\n")),
                _ => Page(null, Stderr(4, "err\n"), Lifecycle(5, ExecutionStatuses.Failed, exitCode: 3)),
            });
            app.MapGet("/v1/machines/{id}/executions/{eid}", () =>
                Json(Execution(ExecutionStatuses.Failed, exitCode: 3, errorCode: ExecutionErrorCodes.NonzeroExit, errorMessage: "exited with 3")));
            app.MapGet("/v1/machines/{id}/executions/{eid}/output", () => Json(new ExecutionOutput(ExecutionId, "out\n", "err\n", 4, 4, false, false)));
        });
        using var client = api.CreateClient();
        var chunks = new List<string>();
        var states = new List<string>();

        var result = await client.Machines.Executions.RunAsync(
            Samples.MachineId,
            new CreateExecutionRequest(["sh", "-c", "echo out; echo err >&2; exit 3"]),
            (item, _) =>
            {
                if (item.Chunk is { } chunk)
                {
                    chunks.Add(item.Type + ":" + chunk);
                }

                return ValueTask.CompletedTask;
            },
            new SyncProgress<Execution>(e => states.Add(e.Status)));

        Assert.Equal(3, result.ExitCode);
        Assert.False(result.Succeeded);
        Assert.Equal(ExecutionErrorCodes.NonzeroExit, result.ErrorCode);
        Assert.Equal(("out\n", "err\n"), (result.Stdout, result.Stderr));
        Assert.Equal(["stdout:out\n", "stderr:err\n"], chunks);
        Assert.Equal([ExecutionStatuses.WakeInProgress, ExecutionStatuses.Failed], states);
        Assert.DoesNotContain(api.Requests, r => r.Method == "DELETE");
    }

    [Fact]
    public async Task Cancelling_a_run_cancels_the_execution_on_the_server_before_throwing()
    {
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapPost("/v1/machines/{id}/executions", () => Json(Execution(ExecutionStatuses.Running)));
            app.MapGet("/v1/machines/{id}/executions/{eid}/events", async (string? cursor, HttpContext context) =>
            {
                if (cursor is null)
                {
                    return Page("c2", Lifecycle(1, ExecutionStatuses.Running), Stdout(2, "started\n"));
                }

                await Task.Delay(Timeout.Infinite, context.RequestAborted); // a long poll on a command that prints nothing more
                return Results.StatusCode(500);
            });
            app.MapDelete("/v1/machines/{id}/executions/{eid}", () => Json(Execution(ExecutionStatuses.Cancelled, errorCode: ExecutionErrorCodes.Cancelled)));
        });
        using var client = api.CreateClient();
        using var cts = new CancellationTokenSource(Limit);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.Machines.Executions.RunAsync(
            Samples.MachineId,
            new CreateExecutionRequest(["sh", "-c", "echo started; sleep 600"]),
            async (item, _) =>
            {
                if (item.Chunk == "started\n")
                {
                    await cts.CancelAsync();
                }
            },
            cancellationToken: cts.Token));

        var delete = Assert.Single(api.Requests, r => r.Method == "DELETE");
        Assert.Equal(One, delete.PathAndQuery);
        Assert.False(string.IsNullOrEmpty(delete.Header(DedalusHeaders.IdempotencyKey)));
    }

    [Fact]
    public async Task Cancelling_while_the_create_is_in_flight_cancels_what_the_server_created()
    {
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapPost("/v1/machines/{id}/executions", async () =>
            {
                received.TrySetResult();
                await answer.Task.WaitAsync(Limit);
                return Json(Execution(ExecutionStatuses.Running));
            });
            app.MapDelete("/v1/machines/{id}/executions/{eid}", () => Json(Execution(ExecutionStatuses.Cancelled)));
        });
        using var client = api.CreateClient();
        using var cts = new CancellationTokenSource(Limit);

        var run = client.Machines.Executions.RunAsync(Samples.MachineId, new CreateExecutionRequest(["sleep", "600"]), cancellationToken: cts.Token);
        await received.Task.WaitAsync(Limit);
        await cts.CancelAsync();
        answer.TrySetResult(); // the server accepted it after all

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(["POST", "DELETE"], api.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task An_exception_in_the_event_callback_cancels_the_execution_and_propagates()
    {
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapGet("/v1/machines/{id}/executions/{eid}/events", () => Page("c2", Stdout(1, "x")));
            app.MapDelete("/v1/machines/{id}/executions/{eid}", () => Json(Execution(ExecutionStatuses.Cancelled)));
        });
        using var client = api.CreateClient();

        var error = await Assert.ThrowsAsync<IOException>(() => client.Machines.Executions.WaitUntilFinishedAsync(
            Execution(),
            (_, _) => throw new IOException("Broken pipe")));

        Assert.Equal("Broken pipe", error.Message);
        Assert.Single(api.Requests, r => r.Method == "DELETE" && r.PathAndQuery == One);
    }

    [Fact]
    public async Task Waiting_refuses_ids_from_the_server_that_no_request_can_name()
    {
        await using var api = await StubApi.StartAsync(_ => { });
        using var client = api.CreateClient();

        var error = await Assert.ThrowsAsync<DedalusException>(() => client.Machines.Executions.WaitUntilFinishedAsync(Execution(id: "../..")));

        Assert.Contains("server bug", error.Message, StringComparison.Ordinal);
        Assert.Empty(api.Requests);
    }

    [Fact]
    public async Task The_log_stream_is_read_with_the_token_alone_and_yields_each_event_once()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/logs/streams/{sid}", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/x-ndjson";
            foreach (var item in new[] { Stdout(3, "a"), Stdout(3, "a"), Stderr(4, "b"), Lifecycle(5, ExecutionStatuses.Succeeded, 0) })
            {
                await context.Response.WriteAsync(JsonSerializer.Serialize(item, DedalusJsonContext.Default.ExecutionEvent) + "\n", Encoding.UTF8, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }));
        using var client = api.CreateClient(apiKey: "the-api-key");
        var token = new ExecutionLogToken("read-token", "Bearer", new Uri(api.BaseUrl, "/logs/").ToString(), ExecutionId, "st-1", DateTimeOffset.UnixEpoch);

        var events = new List<long>();
        await foreach (var item in client.Machines.Executions.ReadLogStreamAsync(token, after: 2))
        {
            events.Add(item.Sequence);
        }

        Assert.Equal([3L, 4, 5], events);
        var request = Assert.Single(api.Requests);
        Assert.Equal("/logs/streams/st-1?after=2", request.PathAndQuery);
        Assert.Equal("Bearer read-token", request.Header("Authorization"));
        Assert.Null(request.Header(DedalusHeaders.ApiKey));
        Assert.DoesNotContain(request.Headers.Values, v => v.Contains("the-api-key", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ftp://logs.example/", "st-1", "tok")]
    [InlineData("http://logs.example/?x=1", "st-1", "tok")]
    [InlineData("http://logs.example/", "../x", "tok")]
    [InlineData("http://logs.example/", "st-1", "tok\r\nX: 1")]
    public void A_log_token_whose_fields_cannot_make_a_request_is_refused(string baseUrl, string streamId, string accessToken)
    {
        using var client = new DedalusClient(new DedalusClientOptions { BaseUrl = new Uri("http://127.0.0.1:9"), ApiKey = "k" });
        var token = new ExecutionLogToken(accessToken, "Bearer", baseUrl, ExecutionId, streamId, DateTimeOffset.UnixEpoch);

        Assert.Throws<ArgumentException>(() => client.Machines.Executions.ReadLogStreamAsync(token));
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
