using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Client.Tests;

public sealed class RetryTests
{
    [Fact]
    public async Task A_failed_first_attempt_is_retried_with_the_same_idempotency_key()
    {
        var calls = 0;
        await using var api = await StubApi.StartAsync(app => app.MapPost("/v1/machines", () =>
            Interlocked.Increment(ref calls) == 1
                ? StubApi.Error(503, "DEPENDENCY_UNAVAILABLE", "runtime unavailable", retryable: true, retryAfterMs: 20)
                : Wire.Json(Samples.Machine())));
        using var client = api.CreateClient();

        var machine = await client.Machines.CreateAsync(new CreateMachineRequest(1, 1024, 10));

        Assert.Equal(Samples.MachineId, machine.MachineId);
        var requests = api.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        var key = requests[0].Header("Idempotency-Key");
        Assert.NotNull(key);
        Assert.StartsWith("dedalus-csharp-", key, StringComparison.Ordinal);
        Assert.Equal(key, requests[1].Header("Idempotency-Key"));
        Assert.Equal("0", requests[0].Header("X-Stainless-Retry-Count"));
        Assert.Equal("1", requests[1].Header("X-Stainless-Retry-Count"));
        Assert.Contains("\"vcpu\":1", requests[1].Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_logical_calls_use_two_idempotency_keys()
    {
        await using var api = await StubApi.StartAsync(app => app.MapPost("/v1/machines/{id}/wake", () => Wire.Json(Samples.Machine())));
        using var client = api.CreateClient();

        await client.Machines.WakeAsync(Samples.MachineId);
        await client.Machines.WakeAsync(Samples.MachineId);

        var keys = api.Requests.Select(r => r.Header("Idempotency-Key")).ToArray();
        Assert.Equal(2, keys.Distinct().Count());
    }

    [Fact]
    public async Task Retries_stop_after_max_retries_and_raise_the_typed_error()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () =>
            StubApi.Error(500, "INTERNAL", "boom", retryAfterMs: 10)));
        using var client = api.CreateClient(maxRetries: 2);

        var error = await Assert.ThrowsAsync<DedalusServerException>(() => client.Machines.RetrieveAsync(Samples.MachineId));

        Assert.Equal(3, api.Requests.Count);
        Assert.Equal(500, (int)error.StatusCode);
        Assert.Equal("INTERNAL", error.ErrorCode);
        Assert.Equal("boom", error.Message);
    }

    [Fact]
    public async Task A_retryable_conflict_is_retried_and_a_final_one_is_not()
    {
        var calls = 0;
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapPost("/v1/machines/{id}/sleep", () => Interlocked.Increment(ref calls) == 1
                ? StubApi.Error(409, "REVISION_MISMATCH", "fence conflict", retryable: true, retryAfterMs: 10)
                : Wire.Json(Samples.Machine(phase: "stopping", desired: "sleeping")));
            app.MapPost("/v1/machines/{id}/wake", () => StubApi.Error(409, "INVALID_STATE", "machine is destroyed"));
        });
        using var client = api.CreateClient();

        var slept = await client.Machines.SleepAsync(Samples.MachineId);
        var error = await Assert.ThrowsAsync<DedalusConflictException>(() => client.Machines.WakeAsync(Samples.MachineId));

        Assert.Equal("sleeping", slept.DesiredState);
        Assert.Equal("INVALID_STATE", error.ErrorCode);
        Assert.False(error.Retryable);
        Assert.Equal(3, api.Requests.Count);
    }

    [Fact]
    public async Task The_x_should_retry_header_overrides_the_status()
    {
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapGet("/v1/machines/{id}", (HttpContext context) =>
            {
                context.Response.Headers["x-should-retry"] = "false";
                return StubApi.Error(503, "DEPENDENCY_UNAVAILABLE", "down", retryable: true);
            });
            app.MapDelete("/v1/machines/{id}", (HttpContext context) =>
            {
                if (context.Request.Headers["X-Stainless-Retry-Count"] == "0")
                {
                    context.Response.Headers["x-should-retry"] = "true";
                    return StubApi.Error(400, "INVALID_REQUEST", "try again");
                }

                return Wire.Json(Samples.Machine(desired: "destroyed"));
            });
        });
        using var client = api.CreateClient();

        await Assert.ThrowsAsync<DedalusServerException>(() => client.Machines.RetrieveAsync(Samples.MachineId));
        var deleted = await client.Machines.DeleteAsync(Samples.MachineId);

        Assert.Equal("destroyed", deleted.DesiredState);
        Assert.Equal(3, api.Requests.Count);
    }

    [Fact]
    public async Task Retry_after_hints_are_honoured()
    {
        var calls = 0;
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", (HttpContext context) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                context.Response.Headers["Retry-After-Ms"] = "300";
                return StubApi.Error(429, "RATE_LIMITED", "slow down", retryable: true);
            }

            return Wire.Json(Samples.Machine());
        }));
        using var client = api.CreateClient();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await client.Machines.RetrieveAsync(Samples.MachineId);

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(280), $"retried after {clock.Elapsed}");
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task A_refused_connection_is_retried_then_raises_a_connection_error()
    {
        var port = Dedalus.Testing.FreePort.Next();
        using var client = new DedalusClient(new DedalusClientOptions
        {
            BaseUrl = new Uri($"http://127.0.0.1:{port}"),
            ApiKey = "k",
            MaxRetries = 1,
        });

        var error = await Assert.ThrowsAsync<DedalusConnectionException>(() => client.Machines.RetrieveAsync(Samples.MachineId));

        Assert.False(error.IsTimeout);
        Assert.Contains("cannot reach", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_attempt_that_takes_too_long_raises_a_timeout()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", async (HttpContext context) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted);
            return Wire.Json(Samples.Machine());
        }));
        using var client = api.CreateClient(maxRetries: 1, timeout: TimeSpan.FromMilliseconds(200));

        var error = await Assert.ThrowsAsync<DedalusConnectionException>(() => client.Machines.RetrieveAsync(Samples.MachineId));

        Assert.True(error.IsTimeout);
        Assert.Equal(2, api.Requests.Count);
    }

    [Fact]
    public async Task Cancellation_stops_a_call_between_retries()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () =>
            StubApi.Error(503, "DEPENDENCY_UNAVAILABLE", "down", retryable: true, retryAfterMs: 30_000)));
        using var client = api.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.Machines.RetrieveAsync(Samples.MachineId, cts.Token));
        Assert.Single(api.Requests);
    }
}
