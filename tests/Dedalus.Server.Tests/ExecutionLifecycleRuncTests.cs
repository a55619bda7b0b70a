using System.Net;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

/// <summary>
/// Executions across the machine's and the server's life, each test with a server of its own (real runc): a restart
/// while one runs, autosleep under one, sleep and destroy under one, the per-machine bound and the org quota, and the
/// expiry of a log token.
/// </summary>
public sealed class ExecutionLifecycleRuncTests
{
    [Fact]
    public async Task A_server_restart_while_an_execution_runs_leaves_it_failed_with_server_restarted_and_its_processes_gone()
    {
        await using var server = await ExecutionServer.StartAsync("exec-restart");
        var machine = await server.CreateRunningMachineAsync();
        var running = await server.CreateAsync(machine, new { command = new[] { "sh", "-c", "echo begun; sleep 3001" } });
        var waiting = await WaitForStatusAsync(server, machine, running.ExecutionId, ExecutionStatuses.Running);
        Assert.Equal(ExecutionStatuses.Running, waiting.Status);

        // The server stops (it ends what it runs), then starts again on the same data.
        await server.RestartAsync();

        var after = await server.GetAsync(machine, running.ExecutionId);
        Assert.Equal((ExecutionStatuses.Failed, ExecutionErrorCodes.ServerRestarted), (after.Status, after.ErrorCode));
        Assert.Equal(("incomplete", ExecutionCaptureCodes.ServerRestarted), (after.LogCapture.State, after.LogCapture.Code));
        await server.WaitForPhaseAsync(machine, MachinePhases.Running);
        Assert.Equal(0, await server.CountProcessesAsync(machine, "sleep 3001"));

        // And the server runs new ones.
        Assert.Equal(ExecutionStatuses.Succeeded, (await server.RunAsync(machine, new { command = new[] { "true" } })).Execution.Status);
    }

    [Fact]
    public async Task After_a_crash_the_next_start_ends_the_executions_the_dead_server_left_running_and_kills_their_processes()
    {
        await using var server = await ExecutionServer.StartAsync("exec-crash");
        var machine = await server.CreateRunningMachineAsync();
        var execution = (await server.RunAsync(machine, new { command = new[] { "true" } })).Execution;

        // What a crash leaves: the row says running under a server process that is gone, and the command's processes
        // still run in the execution's group (made here with the runtime itself, under the execution's name).
        await server.RestartAsync(async () =>
        {
            await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "dedalus.db")}"))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "UPDATE executions SET status = 'running', runner = 'r-dead', completed_at = NULL, expires_at = NULL WHERE id = $1";
                command.Parameters.AddWithValue("$1", execution.ExecutionId);
                Assert.Equal(1, await command.ExecuteNonQueryAsync());
            }

            var runtime = new Dedalus.Machines.Runc.RuncMachineRuntime(new Dedalus.Machines.Runc.RuncRuntimeOptions
            {
                DataDirectory = Dedalus.Server.Hosting.ServerConfiguration.RuntimeDirectory(new Dedalus.Server.Hosting.ServerOptions { DataDirectory = server.DataDirectory }),
            });
            var orphan = await runtime.StartExecutionAsync(StoreIds.StoreId(machine), new Dedalus.Machines.Runtime.MachineExecutionRequest(
                execution.ExecutionId["ex-".Length..], ["sh", "-c", "trap '' TERM; sleep 3005"], "machine", null, new Dictionary<string, string>()));
            GC.KeepAlive(orphan);
        });

        var after = await server.GetAsync(machine, execution.ExecutionId);
        Assert.Equal((ExecutionStatuses.Failed, ExecutionErrorCodes.ServerRestarted), (after.Status, after.ErrorCode));
        Assert.Contains("restarted", after.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(0, await server.CountProcessesAsync(machine, "sleep 3005"));
    }

    [Fact]
    public async Task A_running_execution_keeps_its_machine_awake_and_the_machine_sleeps_after_it()
    {
        await using var server = await ExecutionServer.StartAsync("exec-autosleep", "--Dedalus:SweepInterval", "00:00:00.200");
        var machine = await server.CreateRunningMachineAsync(""","autosleep":"2s" """);

        var (execution, output) = await server.RunAsync(machine, new { command = new[] { "sh", "-c", "sleep 6; echo still-here" } });

        Assert.Equal(ExecutionStatuses.Succeeded, execution.Status);
        Assert.Equal("still-here\n", output.Stdout);
        await server.WaitForPhaseAsync(machine, MachinePhases.Sleeping);
    }

    [Fact]
    public async Task Sleep_and_destroy_under_a_running_execution_end_it_with_the_reason()
    {
        await using var server = await ExecutionServer.StartAsync("exec-sleep");
        var machine = await server.CreateRunningMachineAsync();
        var slept = await server.CreateAsync(machine, new { command = new[] { "sleep", "3002" } });
        await WaitForStatusAsync(server, machine, slept.ExecutionId, ExecutionStatuses.Running);

        await server.Http.SendJsonAsync(HttpMethod.Post, $"/v1/machines/{machine}/sleep", null, DedalusJsonContext.Default.Machine);
        var stopped = await server.WaitFinishedAsync(machine, slept.ExecutionId);
        Assert.Equal((ExecutionStatuses.Failed, ExecutionErrorCodes.MachineStopped, (int?)9), (stopped.Status, stopped.ErrorCode, stopped.Signal));

        var destroyed = await server.CreateAsync(machine, new { command = new[] { "sleep", "3003" } });
        await WaitForStatusAsync(server, machine, destroyed.ExecutionId, ExecutionStatuses.Running);
        await server.Http.SendJsonAsync(HttpMethod.Delete, $"/v1/machines/{machine}", null, DedalusJsonContext.Default.Machine);
        var gone = await server.WaitFinishedAsync(machine, destroyed.ExecutionId);
        Assert.Equal((ExecutionStatuses.Failed, ExecutionErrorCodes.MachineDestroyed), (gone.Status, gone.ErrorCode));

        // A destroyed machine runs nothing: 409.
        await server.WaitForPhaseAsync(machine, MachinePhases.Destroyed);
        var (status, body, _) = await server.PostAsync(machine, """{"command":["true"]}""");
        Assert.True(status == HttpStatusCode.Conflict, $"{(int)status} {body}");
        Assert.Contains(ErrorCodes.InvalidState, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_execution_over_the_machines_bound_or_the_orgs_quota_is_a_429_that_says_which()
    {
        await using var server = await ExecutionServer.StartAsync("exec-bounds", "--Dedalus:ExecutionsPerMachine", "2", "--Dedalus:QuotaExecutions", "3");
        var a = await server.CreateRunningMachineAsync();
        var b = await server.CreateRunningMachineAsync();
        var held = new List<(string Machine, string Id)>();
        foreach (var machine in (string[])[a, a])
        {
            held.Add((machine, (await server.CreateAsync(machine, new { command = new[] { "sleep", "3004" } })).ExecutionId));
        }

        var (status, body, response) = await server.PostAsync(a, """{"command":["true"]}""");
        Assert.True(status == HttpStatusCode.TooManyRequests, $"{(int)status} {body}");
        Assert.Equal(ErrorCodes.RateLimited, JsonSerializer.Deserialize(body, DedalusJsonContext.Default.ErrorEnvelope)!.ErrorCode);
        Assert.Contains("most one machine runs at once (2)", body, StringComparison.Ordinal);
        Assert.True(response.Headers.Contains("retry-after-ms") || response.Headers.RetryAfter is not null);

        held.Add((b, (await server.CreateAsync(b, new { command = new[] { "sleep", "3004" } })).ExecutionId));
        (status, body, _) = await server.PostAsync(b, """{"command":["true"]}""");
        Assert.True(status == HttpStatusCode.TooManyRequests, $"{(int)status} {body}");
        var error = JsonSerializer.Deserialize(body, DedalusJsonContext.Default.ErrorEnvelope)!;
        Assert.Equal((ErrorCodes.QuotaExceeded, "executions"), (error.ErrorCode, error.Details![ErrorDetailKeys.Quota]));

        // Ending one frees its place.
        foreach (var (machine, id) in held)
        {
            await server.Http.SendJsonAsync(HttpMethod.Delete, $"/v1/machines/{machine}/executions/{id}", null, DedalusJsonContext.Default.Execution);
        }

        Assert.Equal(ExecutionStatuses.Succeeded, (await server.RunAsync(a, new { command = new[] { "true" } })).Execution.Status);
    }

    [Fact]
    public async Task A_log_token_stops_working_when_it_expires()
    {
        await using var server = await ExecutionServer.StartAsync("exec-token", "--Dedalus:ExecutionLogTokenLifetime", "00:00:02");
        var machine = await server.CreateRunningMachineAsync();
        var execution = (await server.RunAsync(machine, new { command = new[] { "echo", "hi" } })).Execution;
        var token = await server.Http.SendJsonAsync(
            HttpMethod.Post, $"/v1/machines/{machine}/executions/{execution.ExecutionId}/logs/token", null, DedalusJsonContext.Default.ExecutionLogToken);
        Assert.InRange(token.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(3));

        while (DateTimeOffset.UtcNow < token.ExpiresAt + TimeSpan.FromMilliseconds(200))
        {
            await Task.Delay(100);
        }

        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{token.BaseUrl}/streams/{token.StreamId}");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token.AccessToken);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private static async Task<Execution> WaitForStatusAsync(ExecutionServer server, string machine, string executionId, string status)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var execution = await server.GetAsync(machine, executionId);
            if (execution.Status == status)
            {
                return execution;
            }

            Assert.False(ExecutionStatuses.IsFinished(execution.Status), $"execution ended as {execution.Status}: {execution.ErrorMessage}");
            Assert.True(clock.Elapsed < ExecutionServer.Bound, $"execution is still {execution.Status}");
            await Task.Delay(50);
        }
    }
}
