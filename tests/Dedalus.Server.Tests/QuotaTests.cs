using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// Per-org quotas against the real server over HTTP with real SQLite: each quota refuses at its limit with the DCS
/// envelope and <c>x-should-retry: false</c> and creates nothing, resizes count, concurrent requests do not overshoot,
/// and one org filling its quota leaves the others able to create.
/// </summary>
public sealed class QuotaTests : IDisposable
{
    private const string SmallMachine = """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""";
    private readonly TempDirectory _data = new();

    public void Dispose() => _data.Dispose();

    [Theory]
    [InlineData("--quota-machines", "2", SmallMachine, "machines", "2", "1")]
    [InlineData("--quota-vcpu", "2", """{"vcpu":0.75,"memory_mib":512,"storage_gib":1}""", "vcpu", "1.5", "0.75")]
    [InlineData("--quota-memory-mib", "3000", """{"vcpu":0.25,"memory_mib":1024,"storage_gib":1}""", "memory_mib", "2048", "1024")]
    [InlineData("--quota-storage-gib", "25", """{"vcpu":0.25,"memory_mib":512,"storage_gib":10}""", "storage_gib", "20", "10")]
    public async Task Each_machine_quota_refuses_the_create_past_its_limit_with_409_and_creates_nothing(
        string option, string limit, string body, string quota, string used, string requested)
    {
        await using var server = await RunningServer.StartAsync(_data.Path, extraArgs: [option, limit]);
        using var api = await server.NewClientAsync();
        var first = await api.CreateMachineAsync(body);
        await api.CreateMachineAsync(body);

        var refused = await api.PostAsync("/v1/machines", body);

        AssertRefused(refused, HttpStatusCode.Conflict, quota, limit, used, requested);
        Assert.False(refused.Error().Retryable);
        Assert.Equal(2, (await api.GetAsync("/v1/machines")).MachineList().Items.Count);

        // A destroyed machine stops counting: the org's next create passes.
        await api.SendAsync(HttpMethod.Delete, $"/v1/machines/{first.MachineId}");
        await api.WaitForPhaseAsync(first.MachineId, MachinePhases.Destroyed);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/v1/machines", body)).Status);
    }

    [Fact]
    public async Task A_machine_being_destroyed_still_counts_and_the_refusal_says_to_retry_once_it_is_gone()
    {
        await using var server = await RunningServer.StartAsync(_data.Path, extraArgs: ["--quota-machines", "1"]);
        using var api = await server.NewClientAsync();
        var machine = await api.CreateRunningMachineAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Runtime.BeforeDelete = (_, cancellationToken) => release.Task.WaitAsync(cancellationToken);
        await api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");

        // Its port, image and processes exist until the runtime has destroyed it: deleting and creating in a loop
        // cannot hold more than the quota.
        var refused = await api.PostAsync("/v1/machines", SmallMachine);

        Assert.True(refused.Status == HttpStatusCode.TooManyRequests, refused.ToString());
        var error = refused.Error();
        Assert.Equal((ErrorCodes.QuotaExceeded, true, 1000L), (error.ErrorCode, error.Retryable, error.RetryAfterMs));
        Assert.StartsWith("org quota exceeded: machines 1 of 1 in use, 1 more asked; 1 of that is held by machines being destroyed: retry once they are gone", error.Message, StringComparison.Ordinal);
        Assert.False(refused.Headers.Contains("x-should-retry"));
        Assert.Single((await api.GetAsync("/v1/machines")).MachineList().Items);

        release.SetResult();
        await api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Destroyed);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/v1/machines", SmallMachine)).Status);
    }

    [Fact]
    public async Task A_refusal_does_not_use_up_its_idempotency_key_so_the_same_request_passes_once_there_is_room()
    {
        await using var server = await RunningServer.StartAsync(_data.Path, extraArgs: ["--quota-machines", "1"]);
        using var api = await server.NewClientAsync();
        var first = await api.CreateMachineAsync(SmallMachine);
        var key = new Dictionary<string, string> { ["Idempotency-Key"] = "create-after-room" };

        var refused = await api.PostAsync("/v1/machines", SmallMachine, key);
        var repeated = await api.PostAsync("/v1/machines", SmallMachine, key);

        foreach (var answer in new[] { refused, repeated })
        {
            Assert.True(answer.Status == HttpStatusCode.Conflict, answer.ToString());
            Assert.Equal(ErrorCodes.QuotaExceeded, answer.Error().ErrorCode);
            Assert.Equal("false", answer.Headers.GetValues("x-should-retry").Single());
            Assert.False(answer.Headers.Contains("Idempotent-Replayed"), "a refusal was replayed instead of checked afresh");
        }

        await api.SendAsync(HttpMethod.Delete, $"/v1/machines/{first.MachineId}");
        await api.WaitForPhaseAsync(first.MachineId, MachinePhases.Destroyed);
        var created = await api.PostAsync("/v1/machines", SmallMachine, key);
        var replayed = await api.PostAsync("/v1/machines", SmallMachine, key);

        Assert.True(created.Status == HttpStatusCode.OK, created.ToString());
        Assert.Equal("true", replayed.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(created.Machine().MachineId, replayed.Machine().MachineId);
    }

    [Fact]
    public async Task A_resize_that_would_pass_a_quota_is_refused_and_the_machine_keeps_its_size_and_revision()
    {
        await using var server = await RunningServer.StartAsync(_data.Path, extraArgs: ["--quota-vcpu", "2", "--quota-storage-gib", "20"]);
        using var api = await server.NewClientAsync();
        var machine = await api.CreateRunningMachineAsync("""{"vcpu":1,"memory_mib":1024,"storage_gib":10}""");
        await api.CreateMachineAsync("""{"vcpu":0.5,"memory_mib":512,"storage_gib":5}""");
        var path = $"/v1/machines/{machine.MachineId}";
        var before = (await api.GetAsync(path)).Machine();

        var moreCpu = await api.SendAsync(HttpMethod.Patch, path, """{"vcpu":2}""");
        var moreStorage = await api.SendAsync(HttpMethod.Patch, path, """{"storage_gib":16}""");

        AssertRefused(moreCpu, HttpStatusCode.Conflict, "vcpu", "2", "1.5", "1");
        AssertRefused(moreStorage, HttpStatusCode.Conflict, "storage_gib", "20", "15", "6");
        var after = (await api.GetAsync(path)).Machine();
        Assert.Equal((1.0, 10L, before.Status.Revision), (after.Vcpu, after.StorageGib, after.Status.Revision));

        // Up to the limit passes, and lowering never asks the quota.
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Patch, path, """{"vcpu":1.5,"storage_gib":15}""")).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Patch, path, """{"vcpu":0.25,"memory_mib":2048}""")).Status);
    }

    [Fact]
    public async Task The_sessions_quota_refuses_with_429_saying_when_the_first_session_expires_and_a_closed_session_frees_a_place()
    {
        await using var server = await RunningServer.StartAsync(_data.Path, extraArgs: ["--quota-sessions", "2"]);
        using var api = await server.NewClientAsync();
        var machine = await api.CreateRunningMachineAsync();
        var first = (await api.OpenSessionAsync(machine.MachineId)).Session();
        Assert.Equal(SshSessionStatuses.Ready, (await api.OpenSessionAsync(machine.MachineId)).Session().Status);

        var refused = await api.OpenSessionAsync(machine.MachineId);

        AssertRefused(refused, HttpStatusCode.TooManyRequests, "sessions", "2", "2", "1");
        var error = refused.Error();
        Assert.True(error.Retryable);
        Assert.InRange(error.RetryAfterMs ?? 0, 1, (long)TimeSpan.FromHours(1).TotalMilliseconds);
        Assert.Contains("wait until one expires", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await api.GetAsync($"/v1/machines/{machine.MachineId}/ssh")).SessionList().Items.Count);

        await api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{first.SessionId}");
        Assert.Equal(HttpStatusCode.OK, (await api.OpenSessionAsync(machine.MachineId)).Status);
    }

    [Fact]
    public async Task Twenty_parallel_creates_with_a_machines_quota_of_five_create_exactly_five()
    {
        await using var server = await RunningServer.StartAsync(_data.Path, extraArgs: ["--quota-machines", "5"]);
        using var api = await server.NewClientAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => api.PostAsync("/v1/machines", SmallMachine)));

        Assert.Equal(5, answers.Count(a => a.Status == HttpStatusCode.OK));
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a => AssertRefused(a, HttpStatusCode.Conflict, "machines", "5", "5", "1"));
        Assert.Equal(5, (await api.GetAsync("/v1/machines")).MachineList().Items.Count);
    }

    [Fact]
    public async Task Twenty_parallel_session_creates_with_a_sessions_quota_of_five_open_exactly_five()
    {
        await using var server = await RunningServer.StartAsync(_data.Path, extraArgs: ["--quota-sessions", "5"]);
        using var api = await server.NewClientAsync();
        var machine = await api.CreateRunningMachineAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => api.OpenSessionAsync(machine.MachineId)));

        Assert.Equal(5, answers.Count(a => a.Status == HttpStatusCode.OK));
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a => AssertRefused(a, HttpStatusCode.TooManyRequests, "sessions", "5", "5", "1"));
        Assert.Equal(5, (await api.GetAsync($"/v1/machines/{machine.MachineId}/ssh")).SessionList().Items.Count);
    }

    [Fact]
    public async Task With_the_default_quotas_one_org_filling_its_quota_leaves_another_org_able_to_create()
    {
        // The fixture's gateway range has 100 ports; the default machines quota is a tenth of the range.
        await using var server = await RunningServer.StartAsync(_data.Path);
        using var greedy = await server.NewClientAsync("greedy");
        using var other = await server.NewClientAsync("other");
        for (var i = 0; i < 10; i++)
        {
            await greedy.CreateMachineAsync("""{"vcpu":0.25,"memory_mib":128,"storage_gib":1}""");
        }

        var refused = await greedy.PostAsync("/v1/machines", """{"vcpu":0.25,"memory_mib":128,"storage_gib":1}""");
        var machine = await other.CreateRunningMachineAsync();

        AssertRefused(refused, HttpStatusCode.Conflict, "machines", "10", "10", "1");
        Assert.Contains("org quota exceeded: machines 10 of 10 in use", refused.Error().Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await other.OpenSessionAsync(machine.MachineId)).Status);
        Assert.Single((await other.GetAsync("/v1/machines")).MachineList().Items);
    }

    [Fact]
    public async Task A_small_port_range_still_keeps_one_port_for_every_other_org()
    {
        // Ten ports: by default an org may hold one machine, so nine more orgs can each create one.
        await using var server = await RunningServer.StartAsync(_data.Path, extraArgs: ["--gateway-ports", "2200-2209"]);
        using var first = await server.NewClientAsync("first");
        using var second = await server.NewClientAsync("second");
        await first.CreateMachineAsync();

        var refused = await first.PostAsync("/v1/machines", SmallMachine);
        var created = await second.PostAsync("/v1/machines", SmallMachine);

        AssertRefused(refused, HttpStatusCode.Conflict, "machines", "1", "1", "1");
        Assert.Equal(HttpStatusCode.OK, created.Status);
        Assert.Contains(server.Logs.Lines, l => l.Contains("[1602] Default org quotas: machines 10% (1)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Only_answers_that_a_retry_cannot_change_tell_clients_not_to_retry()
    {
        await using var server = await RunningServer.StartAsync(_data.Path);
        using var api = await server.NewClientAsync();
        var machine = await api.CreateMachineAsync();
        var path = $"/v1/machines/{machine.MachineId}";

        var stale = await api.SendAsync(HttpMethod.Patch, path, """{"vcpu":2}""", new Dictionary<string, string> { ["If-Match"] = "\"999\"" });
        await api.SendAsync(HttpMethod.Delete, path);
        var destroyed = await api.PostAsync(path + "/wake", null);

        Assert.True(stale.Status == HttpStatusCode.Conflict && stale.Error().Retryable, stale.ToString());
        // A stale revision is retryable for a caller who reads the machine again, never for a resend of the same request.
        Assert.Equal("false", Assert.Single(stale.Headers.GetValues("x-should-retry")));
        Assert.True(destroyed.Status == HttpStatusCode.Conflict && !destroyed.Error().Retryable, destroyed.ToString());
        Assert.Equal("false", Assert.Single(destroyed.Headers.GetValues("x-should-retry")));
    }

    /// <summary>The DCS envelope of a quota refusal: status, code, the quota's details and message, and no automatic retry.</summary>
    internal static void AssertRefused(Response response, HttpStatusCode status, string quota, string limit, string used, string requested)
    {
        Assert.True(response.Status == status, response.ToString());
        var error = response.Error();
        Assert.Equal(ErrorCodes.QuotaExceeded, error.ErrorCode);
        Assert.Equal(quota, error.Details![ErrorDetailKeys.Quota]);
        Assert.Equal((limit, used, requested), (error.Details["limit"], error.Details["used"], error.Details["requested"]));
        Assert.StartsWith($"org quota exceeded: {quota} {used} of {limit} ", error.Message, StringComparison.Ordinal);
        Assert.Contains("ask the operator to raise the quota", error.Message, StringComparison.Ordinal);
        Assert.Equal("false", Assert.Single(response.Headers.GetValues("x-should-retry")));
    }
}
