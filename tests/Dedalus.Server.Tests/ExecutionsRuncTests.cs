using System.Net;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

/// <summary>One server with the runc runtime and one running machine, shared by the tests of <see cref="ExecutionsRuncTests"/>.</summary>
public sealed class ExecutionsRuncFixture : IAsyncLifetime
{
    public ExecutionServer Server { get; private set; } = null!;

    public string Machine { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await ExecutionServer.StartAsync("executions");
        Machine = await Server.CreateRunningMachineAsync();
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The nine execution operations and the log-read service against a real server, real runc machines and real
/// processes: status codes, bodies, headers, paging, and what the command sees and leaves behind.
/// </summary>
public sealed class ExecutionsRuncTests(ExecutionsRuncFixture fixture) : IClassFixture<ExecutionsRuncFixture>
{
    private ExecutionServer Server => fixture.Server;

    private HttpClient Http => fixture.Server.Http;

    private string Machine => fixture.Machine;

    [Fact]
    public async Task Create_answers_200_with_the_execution_and_never_echoes_env_values()
    {
        var (status, body, response) = await Server.PostAsync(
            Machine, """{"command":["sh","-c","echo \"$SECRET_TOKEN\" | wc -c"],"env":{"SECRET_TOKEN":"s3cr3t-value-9f2","B":"x"},"timeout_ms":60000}""",
            idempotencyKey: "0190f2a1b2c37" + "abcdefabcdefabcdef0");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("0190f2a1b2c37abcdefabcdefabcdef0", response.Headers.GetValues("Idempotency-Key").Single());
        Assert.DoesNotContain("s3cr3t-value-9f2", body, StringComparison.Ordinal);
        var execution = JsonSerializer.Deserialize(body, DedalusJsonContext.Default.Execution)!;
        Assert.Matches("^ex-[0-9a-f]{32}$", execution.ExecutionId);
        Assert.Equal(Machine, execution.MachineId);
        Assert.Contains(execution.Status, (string[])[ExecutionStatuses.Queued, ExecutionStatuses.Running]);
        Assert.Equal("pending", execution.LogCapture.State);
        Assert.Equal(["B", "SECRET_TOKEN"], execution.EnvKeys);
        Assert.Equal(["sh", "-c", "echo \"$SECRET_TOKEN\" | wc -c"], execution.Command);
        Assert.Equal("/home/machine", execution.Cwd);
        Assert.NotNull(execution.RetryAfterMs);
        Assert.Equal("0190f2a1b2c37abcdefabcdefabcdef0", execution.CreationRequestId);

        var finished = await Server.WaitFinishedAsync(Machine, execution.ExecutionId);
        Assert.Equal(ExecutionStatuses.Succeeded, finished.Status);
        Assert.Equal(0, finished.ExitCode);
        Assert.Null(finished.Signal);
        Assert.NotNull(finished.StartedAt);
        Assert.NotNull(finished.CompletedAt);
        Assert.True(finished.ExpiresAt > finished.CompletedAt);
        Assert.Equal(new LogCapture(), finished.LogCapture);
        Assert.Empty(finished.Artifacts!);
        var output = await OutputAsync(execution.ExecutionId);
        Assert.Equal("17\n", output.Stdout);
        foreach (var path in (string[])["", "/output", "/events", "/logs"])
        {
            var text = await Http.GetStringAsync($"/v1/machines/{Machine}/executions/{execution.ExecutionId}{path}");
            Assert.DoesNotContain("s3cr3t-value-9f2", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Output_events_exit_code_and_the_two_streams_are_reported_apart()
    {
        var (execution, output) = await Server.RunAsync(Machine, new { command = new[] { "sh", "-c", "echo out; echo err >&2; exit 3" } });

        Assert.Equal(ExecutionStatuses.Failed, execution.Status);
        Assert.Equal(3, execution.ExitCode);
        Assert.Null(execution.Signal);
        Assert.Equal(ExecutionErrorCodes.NonzeroExit, execution.ErrorCode);
        Assert.Equal(("out\n", "err\n", 4L, 4L, false, false), (output.Stdout, output.Stderr, output.StdoutBytes, output.StderrBytes, output.StdoutTruncated, output.StderrTruncated));

        var events = await AllEventsAsync(execution.ExecutionId, limit: 200);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal([ExecutionStatuses.Queued, ExecutionStatuses.Running, ExecutionStatuses.Failed],
            events.Where(e => e.Type == ExecutionEventTypes.Lifecycle).Select(e => e.Status!));
        Assert.Equal("out\n", string.Concat(events.Where(e => e.Type == ExecutionEventTypes.Stdout).Select(e => e.Chunk)));
        Assert.Equal("err\n", string.Concat(events.Where(e => e.Type == ExecutionEventTypes.Stderr).Select(e => e.Chunk)));
        var last = events[^1];
        Assert.Equal((ExecutionEventTypes.Lifecycle, 3, ExecutionErrorCodes.NonzeroExit), (last.Type, last.ExitCode!.Value, last.ErrorCode));
    }

    [Fact]
    public async Task A_signal_the_server_did_not_send_is_reported_as_the_signal_and_an_exit_code_above_128_as_an_exit_code()
    {
        var (killed, _) = await Server.RunAsync(Machine, new { command = new[] { "sh", "-c", "kill -TERM $$" } });
        var exited = (await Server.RunAsync(Machine, new { command = new[] { "sh", "-c", "exit 143" } })).Execution;

        Assert.Equal((ExecutionStatuses.Failed, (int?)null, (int?)15, ExecutionErrorCodes.KilledBySignal), (killed.Status, killed.ExitCode, killed.Signal, killed.ErrorCode));
        Assert.Equal((ExecutionStatuses.Failed, (int?)143, (int?)null, ExecutionErrorCodes.NonzeroExit), (exited.Status, exited.ExitCode, exited.Signal, exited.ErrorCode));
    }

    [Fact]
    public async Task Argv_stdin_cwd_and_env_reach_the_command_intact_as_the_machine_user()
    {
        string[] tricky = ["two words", "quo'te\"s", "new\nline", "", "$HOME;`id`", "ünï©ødé"];
        var (argv, argvOutput) = await Server.RunAsync(Machine, new { command = (string[])["printf", "<%s>\\n", .. tricky] });
        Assert.Equal(ExecutionStatuses.Succeeded, argv.Status);
        Assert.Equal(string.Concat(tricky.Select(a => $"<{a}>\n")), argvOutput.Stdout);

        var (_, output) = await Server.RunAsync(Machine, new
        {
            command = new[] { "sh", "-c", "id -un; pwd; echo \"$GREETING\"; cat" },
            cwd = "/tmp",
            env = new Dictionary<string, string> { ["GREETING"] = "hello there" },
            stdin = "line one\nline two\n",
        });
        Assert.Equal("machine\n/tmp\nhello there\nline one\nline two\n", output.Stdout);

        // A clean environment: the caller's variables and the login basics, nothing of the server's.
        var (_, env) = await Server.RunAsync(Machine, new { command = new[] { "env" }, env = new Dictionary<string, string> { ["ONLY_MINE"] = "1" } });
        var names = env.Stdout!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..l.IndexOf('=', StringComparison.Ordinal)]).Order(StringComparer.Ordinal);
        Assert.Equal(["HOME", "LOGNAME", "ONLY_MINE", "PATH", "PWD", "SHELL", "USER"], names);
    }

    [Fact]
    public async Task A_50_MiB_stdout_is_kept_up_to_the_bound_and_counted_to_the_byte()
    {
        const long Total = 50L * 1024 * 1024;
        var (execution, output) = await Server.RunAsync(Machine, new { command = new[] { "sh", "-c", $"head -c {Total} /dev/zero | tr '\\0' a; echo done >&2" } });

        Assert.Equal(ExecutionStatuses.Succeeded, execution.Status);
        Assert.Equal(Total, execution.StdoutBytes);
        Assert.True(execution.StdoutTruncated);
        Assert.False(execution.StderrTruncated);
        Assert.Equal(1024 * 1024, output.Stdout!.Length);
        Assert.True(output.Stdout.All(c => c == 'a'));
        Assert.Equal("done\n", output.Stderr);
        Assert.Equal(("incomplete", ExecutionCaptureCodes.OutputTruncated, (Total - (1024 * 1024)).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            (execution.LogCapture.State, execution.LogCapture.Code, execution.LogCapture.LostBytes));
    }

    [Fact]
    public async Task Output_holding_nul_bytes_is_kept_whole()
    {
        var (zeros, zerosOutput) = await Server.RunAsync(Machine, new { command = new[] { "head", "-c", "100000", "/dev/zero" } });
        var (mixed, mixedOutput) = await Server.RunAsync(Machine, new { command = new[] { "sh", "-c", "printf '%600s' | tr ' ' x; printf '\\0'; printf '%600s' | tr ' ' y" } });

        Assert.Equal((ExecutionStatuses.Succeeded, 100000L, false), (zeros.Status, zeros.StdoutBytes!.Value, zeros.StdoutTruncated!.Value));
        Assert.Equal(new string('\0', 100000), zerosOutput.Stdout);
        Assert.Equal(1201L, mixed.StdoutBytes);
        Assert.Equal(new string('x', 600) + "\0" + new string('y', 600), mixedOutput.Stdout);
    }

    [Fact]
    public async Task A_timeout_ends_the_whole_tree_with_term_then_kill_for_a_child_that_ignores_term()
    {
        var created = await Server.CreateAsync(Machine, new
        {
            command = new[] { "sh", "-c", "trap '' TERM; setsid sh -c 'trap \"\" TERM; exec sleep 2001' </dev/null >/dev/null 2>&1 & sleep 2002" },
            timeout_ms = 1500,
        });
        var finished = await Server.WaitFinishedAsync(Machine, created.ExecutionId);

        Assert.Equal((ExecutionStatuses.Failed, ExecutionErrorCodes.Timeout), (finished.Status, finished.ErrorCode));
        Assert.Equal(9, finished.Signal);
        Assert.Contains("timeout_ms (1500 ms)", finished.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(0, await Server.CountProcessesAsync(Machine, "sleep 200[12]"));
    }

    [Fact]
    public async Task Delete_cancels_a_running_execution_and_its_process_tree_is_gone_when_it_answers()
    {
        var created = await Server.CreateAsync(Machine, new
        {
            command = new[] { "sh", "-c", "trap '' TERM; (trap '' TERM; exec sleep 2003) & echo started; sleep 2004" },
        });
        await WaitForOutputAsync(created.ExecutionId, "started");

        var cancelled = await Http.SendJsonAsync(HttpMethod.Delete, $"/v1/machines/{Machine}/executions/{created.ExecutionId}", null, DedalusJsonContext.Default.Execution);

        Assert.Equal((ExecutionStatuses.Cancelled, ExecutionErrorCodes.Cancelled), (cancelled.Status, cancelled.ErrorCode));
        Assert.NotNull(cancelled.Signal);
        Assert.Equal(0, await Server.CountProcessesAsync(Machine, "sleep 200[34]"));

        // Again: the execution is finished; DELETE returns it unchanged.
        var again = await Http.SendJsonAsync(HttpMethod.Delete, $"/v1/machines/{Machine}/executions/{created.ExecutionId}", null, DedalusJsonContext.Default.Execution);
        Assert.Equal(JsonSerializer.Serialize(cancelled, DedalusJsonContext.Default.Execution), JsonSerializer.Serialize(again, DedalusJsonContext.Default.Execution));
    }

    [Fact]
    public async Task Events_paged_while_the_command_runs_return_every_chunk_once_in_order()
    {
        var created = await Server.CreateAsync(Machine, new
        {
            command = new[] { "sh", "-c", "i=1; while [ $i -le 40 ]; do echo line-$i; [ $((i % 7)) -eq 0 ] && echo warn-$i >&2; sleep 0.03; i=$((i+1)); done" },
        });

        var events = new List<ExecutionEvent>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Http.SendJsonAsync(HttpMethod.Get,
                $"/v1/machines/{Machine}/executions/{created.ExecutionId}/events?limit=2&wait_ms=5000{(cursor is null ? "" : "&cursor=" + cursor)}", null,
                DedalusJsonContext.Default.ExecutionEventList);
            events.AddRange(page.Items);
            cursor = page.NextCursor;
            Assert.True(++pages < 1000, "too many pages");
        }
        while (cursor is not null);

        Assert.True(pages > 3, $"{pages} pages");
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal(string.Concat(Enumerable.Range(1, 40).Select(i => $"line-{i}\n")), string.Concat(events.Where(e => e.Type == "stdout").Select(e => e.Chunk)));
        Assert.Equal(string.Concat(Enumerable.Range(1, 40).Where(i => i % 7 == 0).Select(i => $"warn-{i}\n")), string.Concat(events.Where(e => e.Type == "stderr").Select(e => e.Chunk)));
        Assert.Equal(ExecutionStatuses.Succeeded, events[^1].Status);
    }

    [Fact]
    public async Task List_pages_the_machines_executions_oldest_first_and_refuses_a_foreign_cursor()
    {
        var machine = await Server.CreateRunningMachineAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await Server.RunAsync(machine, new { command = new[] { "true" } })).Execution.ExecutionId);
        }

        var first = await Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machine}/executions?limit=2", null, DedalusJsonContext.Default.ExecutionList);
        var second = await Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machine}/executions?limit=2&cursor={first.NextCursor}", null, DedalusJsonContext.Default.ExecutionList);

        Assert.Equal(ids, first.Items.Concat(second.Items).Select(e => e.ExecutionId));
        Assert.Null(second.NextCursor);
        var foreign = await Http.GetAsync($"/v1/machines/{machine}/executions?cursor=c0000000000A");
        Assert.Equal(HttpStatusCode.BadRequest, foreign.StatusCode);

        // Another machine's execution is not found under this machine.
        var elsewhere = await Http.GetAsync($"/v1/machines/{Machine}/executions/{ids[0]}");
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        Assert.Contains("\"resource\":\"execution\"", await elsewhere.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_execution_on_a_sleeping_machine_wakes_it_and_runs()
    {
        var machine = await Server.CreateRunningMachineAsync();
        await Http.SendJsonAsync(HttpMethod.Post, $"/v1/machines/{machine}/sleep", null, DedalusJsonContext.Default.Machine);
        await Server.WaitForPhaseAsync(machine, MachinePhases.Sleeping);

        var created = await Server.CreateAsync(machine, new { command = new[] { "echo", "awake" } });
        Assert.Equal(ExecutionStatuses.WakeInProgress, created.Status);
        Assert.Equal(500, created.RetryAfterMs);

        var finished = await Server.WaitFinishedAsync(machine, created.ExecutionId);
        Assert.Equal(ExecutionStatuses.Succeeded, finished.Status);
        Assert.Equal("awake\n", (await OutputAsync(created.ExecutionId, machine)).Stdout);
        var statuses = (await AllEventsAsync(created.ExecutionId, 100, machine)).Where(e => e.Type == "lifecycle").Select(e => e.Status!);
        Assert.Equal([ExecutionStatuses.WakeInProgress, ExecutionStatuses.Queued, ExecutionStatuses.Running, ExecutionStatuses.Succeeded], statuses);
        Assert.Equal(MachinePhases.Running, (await Server.WaitForPhaseAsync(machine, MachinePhases.Running)).Phase);
    }

    [Fact]
    public async Task A_missing_working_directory_fails_the_execution_with_start_failed_naming_it()
    {
        var (execution, output) = await Server.RunAsync(Machine, new { command = new[] { "true" }, cwd = "/no/such/dir" });

        Assert.Equal((ExecutionStatuses.Failed, ExecutionErrorCodes.StartFailed), (execution.Status, execution.ErrorCode));
        Assert.Contains("/no/such/dir", execution.ErrorMessage, StringComparison.Ordinal);
        Assert.Null(execution.StartedAt);
        Assert.Equal(("", ""), (output.Stdout, output.Stderr));
    }

    [Fact]
    public async Task The_log_token_reads_its_own_stream_only_and_reauthorize_revokes_it()
    {
        var a = (await Server.RunAsync(Machine, new { command = new[] { "sh", "-c", "echo alpha; echo beta >&2" } })).Execution;
        var b = (await Server.RunAsync(Machine, new { command = new[] { "echo", "bravo" } })).Execution;
        var tokenA = await TokenAsync(a.ExecutionId);
        var tokenB = await TokenAsync(b.ExecutionId);
        Assert.Equal(("Bearer", a.ExecutionId), (tokenA.TokenType, tokenA.ExecutionId));
        Assert.StartsWith(Http.BaseAddress!.ToString().TrimEnd('/'), tokenA.BaseUrl, StringComparison.Ordinal);
        Assert.True(tokenA.ExpiresAt > DateTimeOffset.UtcNow);

        var (status, body) = await ReadStreamAsync(tokenA.BaseUrl, tokenA.StreamId, tokenA.AccessToken);
        Assert.Equal(HttpStatusCode.OK, status);
        var streamed = body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize(l, DedalusJsonContext.Default.ExecutionEvent)!).ToList();
        Assert.Equal(await AllEventsAsync(a.ExecutionId, 200), streamed);
        Assert.Contains(streamed, e => e.Chunk == "alpha\n");

        // Another stream's token, an API key, no token, a forged one: refused.
        Assert.Equal(HttpStatusCode.Unauthorized, (await ReadStreamAsync(tokenA.BaseUrl, tokenA.StreamId, tokenB.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ReadStreamAsync(tokenA.BaseUrl, tokenA.StreamId, null)).Status);
        var apiKey = Http.DefaultRequestHeaders.GetValues("x-api-key").Single();
        Assert.Equal(HttpStatusCode.Unauthorized, (await ReadStreamAsync(tokenA.BaseUrl, tokenA.StreamId, apiKey)).Status);
        var forged = tokenA.AccessToken[..^4] + (tokenA.AccessToken.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await ReadStreamAsync(tokenA.BaseUrl, tokenA.StreamId, forged)).Status);

        // logs and reauthorize: the token issued before stops working, a new one works.
        var logs = await Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{Machine}/executions/{a.ExecutionId}/logs", null, DedalusJsonContext.Default.ExecutionLogStatus);
        Assert.Equal((tokenA.StreamId, true, "closed"), (logs.StreamId, logs.Publication!.Complete, logs.Publication.State));
        await Http.SendJsonAsync(HttpMethod.Post, $"/v1/machines/{Machine}/executions/{a.ExecutionId}/logs/reauthorize", null, DedalusJsonContext.Default.ExecutionLogStatus);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ReadStreamAsync(tokenA.BaseUrl, tokenA.StreamId, tokenA.AccessToken)).Status);
        var fresh = await TokenAsync(a.ExecutionId);
        Assert.Equal(HttpStatusCode.OK, (await ReadStreamAsync(fresh.BaseUrl, fresh.StreamId, fresh.AccessToken)).Status);
    }

    [Fact]
    public async Task The_log_stream_follows_a_running_execution_until_it_ends()
    {
        var created = await Server.CreateAsync(Machine, new { command = new[] { "sh", "-c", "for i in 1 2 3 4 5; do echo tick-$i; sleep 0.2; done" } });
        var token = await TokenAsync(created.ExecutionId);

        var (status, body) = await ReadStreamAsync(token.BaseUrl, token.StreamId, token.AccessToken);

        Assert.Equal(HttpStatusCode.OK, status);
        var streamed = body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize(l, DedalusJsonContext.Default.ExecutionEvent)!).ToList();
        Assert.Equal("tick-1\ntick-2\ntick-3\ntick-4\ntick-5\n", string.Concat(streamed.Where(e => e.Type == "stdout").Select(e => e.Chunk)));
        Assert.Equal(ExecutionStatuses.Succeeded, streamed[^1].Status);
    }

    [Fact]
    public async Task Root_in_the_machine_cannot_take_a_process_out_of_its_execution_and_a_cancel_still_ends_it()
    {
        // Root inside (sudo) writes its pid into every cgroup.procs it can find, then forks a detached child.
        var created = await Server.CreateAsync(Machine, new
        {
            command = new[]
            {
                "sudo", "-n", "sh", "-c",
                "for f in $(find /sys/fs/cgroup -name cgroup.procs 2>/dev/null); do echo $$ > $f 2>/dev/null && echo moved-$f; done; " +
                "setsid sleep 3007 </dev/null >/dev/null 2>&1 & echo ready; sleep 3008",
            },
        });
        await WaitForOutputAsync(created.ExecutionId, "ready");
        Assert.DoesNotContain("moved-", (await OutputAsync(created.ExecutionId)).Stdout, StringComparison.Ordinal);

        var cancelled = await Http.SendJsonAsync(HttpMethod.Delete, $"/v1/machines/{Machine}/executions/{created.ExecutionId}", null, DedalusJsonContext.Default.Execution);

        Assert.Equal(ExecutionStatuses.Cancelled, cancelled.Status);
        Assert.Equal(0, await Server.CountProcessesAsync(Machine, "sleep 300[78]"));
    }

    [Fact]
    public async Task Another_orgs_key_finds_none_of_the_nine_operations_on_this_machine()
    {
        var execution = (await Server.RunAsync(Machine, new { command = new[] { "echo", "private" } })).Execution;
        var otherKey = (await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Auth.ApiKeys>(Server.App.Services).CreateAsync("intruder")).Key;
        using var intruder = new HttpClient { BaseAddress = Http.BaseAddress };
        intruder.DefaultRequestHeaders.Add("x-api-key", otherKey);
        var path = $"/v1/machines/{Machine}/executions";

        var answers = new List<HttpResponseMessage>
        {
            await intruder.PostAsync(path, new StringContent("""{"command":["true"]}""", System.Text.Encoding.UTF8, "application/json")),
            await intruder.GetAsync(path),
            await intruder.GetAsync($"{path}/{execution.ExecutionId}"),
            await intruder.DeleteAsync($"{path}/{execution.ExecutionId}"),
            await intruder.GetAsync($"{path}/{execution.ExecutionId}/output"),
            await intruder.GetAsync($"{path}/{execution.ExecutionId}/events"),
            await intruder.GetAsync($"{path}/{execution.ExecutionId}/logs"),
            await intruder.PostAsync($"{path}/{execution.ExecutionId}/logs/reauthorize", null),
            await intruder.PostAsync($"{path}/{execution.ExecutionId}/logs/token", null),
        };

        foreach (var answer in answers)
        {
            var body = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.NotFound, $"{answer.RequestMessage!.Method} {answer.RequestMessage.RequestUri}: {(int)answer.StatusCode} {body}");
            Assert.DoesNotContain("private", body, StringComparison.Ordinal);
        }

        Assert.Equal(ExecutionStatuses.Succeeded, (await Server.GetAsync(Machine, execution.ExecutionId)).Status);
    }

    public static TheoryData<string, string, string> BadBodies => new()
    {
        { "empty argv", """{"command":[]}""", "command" },
        { "null argv", """{"command":null}""", "command" },
        { "no argv", """{"cwd":"/tmp"}""", "command" },
        { "null argument", """{"command":["echo",null]}""", "command" },
        { "empty program", """{"command":[""]}""", "command" },
        { "NUL in an argument", """{"command":["echo","a\u0000b"]}""", "command" },
        { "relative cwd", """{"command":["true"],"cwd":"tmp"}""", "cwd" },
        { "empty cwd", """{"command":["true"],"cwd":""}""", "cwd" },
        { "env name with =", """{"command":["true"],"env":{"A=B":"c"}}""", "env" },
        { "env name with a digit first", """{"command":["true"],"env":{"1A":"c"}}""", "env" },
        { "env value with NUL", """{"command":["true"],"env":{"A":"x\u0000y"}}""", "env" },
        { "negative timeout", """{"command":["true"],"timeout_ms":-5}""", "timeout_ms" },
        { "zero timeout", """{"command":["true"],"timeout_ms":0}""", "timeout_ms" },
        { "absurd timeout", """{"command":["true"],"timeout_ms":9223372036854775807}""", "timeout_ms" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_input_is_a_400_naming_the_field_and_nothing_runs(string why, string body, string field)
    {
        var before = await CountExecutionsAsync();

        var (status, text, _) = await Server.PostAsync(Machine, body);

        Assert.True(status == HttpStatusCode.BadRequest, $"{why}: {(int)status} {text}");
        var error = JsonSerializer.Deserialize(text, DedalusJsonContext.Default.ErrorEnvelope)!;
        Assert.Equal(ErrorCodes.InvalidRequest, error.ErrorCode);
        Assert.Equal(field, error.Details![ErrorDetailKeys.Field]);
        Assert.Equal(before, await CountExecutionsAsync());
    }

    [Fact]
    public async Task Stdin_over_1_MiB_is_a_400_naming_stdin_and_1_MiB_runs()
    {
        var (status, text, _) = await Server.PostAsync(Machine, JsonSerializer.Serialize(new { command = new[] { "wc", "-c" }, stdin = new string('x', (1024 * 1024) + 1) }));
        Assert.True(status == HttpStatusCode.BadRequest, $"{(int)status} {text}");
        Assert.Contains("\"field\":\"stdin\"", text, StringComparison.Ordinal);

        var (execution, output) = await Server.RunAsync(Machine, new { command = new[] { "wc", "-c" }, stdin = new string('x', 1024 * 1024) });
        Assert.Equal(ExecutionStatuses.Succeeded, execution.Status);
        Assert.Equal("1048576\n", output.Stdout);
    }

    [Fact]
    public async Task Unknown_executions_and_bad_ids_are_404s_and_a_bad_wait_is_a_400()
    {
        foreach (var id in (string[])["ex-00000000000000000000000000000000", "nope", "ex-../../x"])
        {
            var response = await Http.GetAsync($"/v1/machines/{Machine}/executions/{Uri.EscapeDataString(id)}");
            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{id}: {(int)response.StatusCode}");
        }

        var execution = (await Server.RunAsync(Machine, new { command = new[] { "true" } })).Execution;
        var wait = await Http.GetAsync($"/v1/machines/{Machine}/executions/{execution.ExecutionId}/events?wait_ms=999999");
        Assert.Equal(HttpStatusCode.BadRequest, wait.StatusCode);
        Assert.Contains("wait_ms", await wait.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<int> CountExecutionsAsync()
    {
        var total = 0;
        string? cursor = null;
        do
        {
            var page = await Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{Machine}/executions?limit=200{(cursor is null ? "" : "&cursor=" + cursor)}", null,
                DedalusJsonContext.Default.ExecutionList);
            total += page.Items.Count;
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return total;
    }

    private Task<ExecutionOutput> OutputAsync(string executionId, string? machine = null) =>
        Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machine ?? Machine}/executions/{executionId}/output", null, DedalusJsonContext.Default.ExecutionOutput);

    private Task<ExecutionLogToken> TokenAsync(string executionId) =>
        Http.SendJsonAsync(HttpMethod.Post, $"/v1/machines/{Machine}/executions/{executionId}/logs/token", null, DedalusJsonContext.Default.ExecutionLogToken);

    private static async Task<(HttpStatusCode Status, string Body)> ReadStreamAsync(string baseUrl, string streamId, string? token)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{baseUrl}/streams/{streamId}");
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<List<ExecutionEvent>> AllEventsAsync(string executionId, int limit, string? machine = null)
    {
        var events = new List<ExecutionEvent>();
        string? cursor = null;
        do
        {
            var page = await Http.SendJsonAsync(HttpMethod.Get,
                $"/v1/machines/{machine ?? Machine}/executions/{executionId}/events?limit={limit}{(cursor is null ? "" : "&cursor=" + cursor)}", null,
                DedalusJsonContext.Default.ExecutionEventList);
            events.AddRange(page.Items);
            cursor = page.Items.Count == 0 ? null : page.NextCursor;
        }
        while (cursor is not null);
        return events;
    }

    private async Task WaitForOutputAsync(string executionId, string text)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!(await OutputAsync(executionId)).Stdout!.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < ExecutionServer.Bound, $"no '{text}' in the output");
            await Task.Delay(50);
        }
    }
}
