using System.Net;
using System.Text;
using Dedalus.Contracts;
using Dedalus.Server.Http;
using Dedalus.Server.Store;
using Dedalus.Server.Store.Sqlite;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

public class IdempotencyTests : ServerTestBase
{
    private const string Body = """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""";
    private static Dictionary<string, string> Key(string key) => new() { ["Idempotency-Key"] = key };

    [Fact]
    public async Task Repeating_a_create_with_the_same_key_and_body_replays_status_etag_and_body_and_creates_one_machine()
    {
        var first = await Api.PostAsync("/v1/machines", Body, Key("create-1"));
        await Server.SettleAsync();

        var second = await Api.PostAsync("/v1/machines", Body, Key("create-1"));

        await AssertReplayedCreateAsync(first, second);
        Assert.Equal(first.Status, second.Status);
        Assert.Equal(first.ETag, second.ETag);
    }

    [Fact]
    public async Task A_key_left_in_flight_by_a_request_that_never_finished_is_taken_over_after_its_lease()
    {
        var store = Server.Service<IStore>();
        var hash = IdempotencyMiddleware.RequestHash("POST", "/v1/machines", Encoding.UTF8.GetBytes(Body));
        var crashedAt = DateTimeOffset.UtcNow - SqliteStore.InFlightLease - TimeSpan.FromSeconds(1);
        Assert.Null(await store.TryBeginIdempotentAsync(Api.OrgId, "crashed-1", hash, crashedAt));

        var retry = await Api.PostAsync("/v1/machines", Body, Key("crashed-1"));
        var replay = await Api.PostAsync("/v1/machines", Body, Key("crashed-1"));

        await AssertReplayedCreateAsync(retry, replay);
    }

    [Fact]
    public async Task A_replayed_mutation_carries_the_storage_operation_id_of_the_first_answer()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var first = await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null, Key("sleep-op"));
        await Server.SettleAsync();

        var replay = await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null, Key("sleep-op"));

        var operationId = first.Headers.GetValues(DedalusHeaders.StorageOperationId).Single();
        Assert.Equal("true", replay.Headers.GetValues(IdempotencyMiddleware.ReplayedHeader).Single());
        Assert.True(replay.Headers.TryGetValues(DedalusHeaders.StorageOperationId, out var replayed), "the replay has no storage operation id");
        Assert.Equal(operationId, replayed.Single());
    }

    [Fact]
    public async Task Reusing_a_key_with_a_different_body_is_409_idempotency_key_reused_with_both_hashes()
    {
        await Api.PostAsync("/v1/machines", Body, Key("create-2"));

        var response = await Api.PostAsync("/v1/machines", """{"vcpu":2,"memory_mib":1024,"storage_gib":10}""", Key("create-2"));

        Assert.Equal(HttpStatusCode.Conflict, response.Status);
        var error = response.Error();
        Assert.Equal(ErrorCodes.IdempotencyKeyReused, error.ErrorCode);
        Assert.False(error.Retryable);
        Assert.Matches("^[0-9a-f]{16}$", error.Details!["expected_request_hash"]);
        Assert.Matches("^[0-9a-f]{16}$", error.Details["provided_request_hash"]);
        Assert.NotEqual(error.Details["expected_request_hash"], error.Details["provided_request_hash"]);
        Assert.Single((await Api.GetAsync("/v1/machines")).MachineList().Items);
    }

    [Fact]
    public async Task A_repeat_while_the_first_request_is_in_flight_is_429_rate_limited_retry_after_250()
    {
        var store = Server.Service<IStore>();
        var hash = IdempotencyMiddleware.RequestHash("POST", "/v1/machines", Encoding.UTF8.GetBytes(Body));
        Assert.Null(await store.TryBeginIdempotentAsync(Api.OrgId, "create-3", hash, DateTimeOffset.UtcNow));

        var response = await Api.PostAsync("/v1/machines", Body, Key("create-3"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.Status);
        var error = response.Error();
        Assert.Equal(ErrorCodes.RateLimited, error.ErrorCode);
        Assert.True(error.Retryable);
        Assert.Equal(250, error.RetryAfterMs);
        Assert.Contains("in-flight", error.Message, StringComparison.Ordinal);
        Assert.Empty((await Api.GetAsync("/v1/machines")).MachineList().Items);
    }

    [Fact]
    public async Task A_request_that_failed_validation_releases_its_key_for_a_corrected_retry()
    {
        var bad = await Api.PostAsync("/v1/machines", """{"vcpu":0.1}""", Key("create-4"));
        var good = await Api.PostAsync("/v1/machines", Body, Key("create-4"));

        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Equal(HttpStatusCode.OK, good.Status);
    }

    [Fact]
    public async Task Keys_are_scoped_per_org()
    {
        using var other = await Server.NewClientAsync("globex");

        var mine = await Api.PostAsync("/v1/machines", Body, Key("shared-key"));
        var theirs = await other.PostAsync("/v1/machines", Body, Key("shared-key"));

        Assert.Equal(HttpStatusCode.OK, theirs.Status);
        Assert.NotEqual(mine.Machine().MachineId, theirs.Machine().MachineId);
        Assert.Single((await other.GetAsync("/v1/machines")).MachineList().Items);
    }

    [Fact]
    public async Task Session_creation_and_sleep_honour_idempotency_keys()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var body = $$"""{"public_key":"{{TestKeys.Ed25519}}"}""";

        var first = await Api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", body, Key("ssh-1"));
        var second = await Api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", body, Key("ssh-1"));
        var sleep1 = await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null, Key("sleep-1"));
        await Server.SettleAsync();
        var sleep2 = await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null, Key("sleep-1"));

        Assert.Equal(first.Session().SessionId, second.Session().SessionId);
        Assert.Single((await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh")).SessionList().Items);
        Assert.Equal(HttpStatusCode.OK, sleep2.Status);
        Assert.Equal(sleep1.ETag, sleep2.ETag);
    }

    /// <summary>The first create was accepted, the second replayed its body and said so, and only one machine exists.</summary>
    private async Task AssertReplayedCreateAsync(Response first, Response replay)
    {
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(first.Body, replay.Body);
        Assert.Equal("true", replay.Headers.GetValues(IdempotencyMiddleware.ReplayedHeader).Single());
        Assert.Single((await Api.GetAsync("/v1/machines")).MachineList().Items);
    }
}
