using System.Net;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// The details of the current public contract (dcs-2026-09.md, section 5) on the wire: create defaults, names, reboot,
/// the autoresizing resources and the <c>status.memory_*</c> fields, destroyed machines in the list, and a session
/// create that finds its woken machine ready. The runtime here is the in-memory double; the runc tests prove the
/// runtime's part (RebootRuncTests, AutoresizeRuncTests).
/// </summary>
public sealed class CurrentContractTests : ServerTestBase
{
    private static readonly Dictionary<string, string> NoHeaders = [];

    [Fact]
    public async Task A_create_with_an_empty_body_gets_the_contracts_defaults_and_every_memory_field()
    {
        var response = await Api.PostAsync("/v1/machines", "{}");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var machine = response.Machine();
        Assert.Equal((1.0, 4096L, 10L, 300L), (machine.Vcpu, machine.MemoryMib, machine.StorageGib, machine.AutosleepSeconds));
        Assert.Equal(4096, machine.Status.MemoryConfiguredMib);
        Assert.Equal(4096, machine.Status.MemoryTargetMib);
        Assert.Equal(MemoryResizeStates.Stable, machine.Status.MemoryResizeState);
        Assert.Null(machine.Status.MemoryAssignedMib);
        Assert.DoesNotContain("\"name\"", response.Body, StringComparison.Ordinal);

        var running = await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);
        using var retrieved = JsonDocument.Parse((await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Body);
        var status = retrieved.RootElement.GetProperty("status");
        Assert.Equal(4096, status.GetProperty("memory_configured_mib").GetInt64());
        Assert.Equal(4096, status.GetProperty("memory_assigned_mib").GetInt64());
        Assert.False(status.TryGetProperty("memory_last_autoresized_at", out _));
        Assert.Equal(MachinePhases.Running, running.Phase);
    }

    [Fact]
    public async Task Every_machine_id_in_responses_is_the_bare_uuid_and_machine_operations_answer_200()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var session = await Api.OpenSessionAsync(machine.MachineId);
        var sleep = await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        var wake = await Api.PostAsync($"/v1/machines/{machine.MachineId}/wake", null);
        var patch = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"vcpu":2}""");
        var delete = await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");

        Assert.True(Guid.TryParseExact(machine.MachineId, "D", out _), machine.MachineId);
        Assert.Equal(machine.MachineId, session.Session().MachineId);
        foreach (var answer in new[] { sleep, wake, patch, delete })
        {
            Assert.True(answer.Status == HttpStatusCode.OK, answer.ToString());
            Assert.Equal(machine.MachineId, answer.Machine().MachineId);
            Assert.DoesNotContain("dm-", answer.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_name_is_returned_unique_in_the_org_usable_in_paths_renamed_removed_and_freed_by_destruction()
    {
        using var other = await Server.NewClientAsync("globex");
        var box = (await Api.PostAsync("/v1/machines", """{"name":"build-box"}""")).Machine();
        var theirs = await other.PostAsync("/v1/machines", """{"name":"build-box"}""");
        var taken = await Api.PostAsync("/v1/machines", """{"name":"build-box"}""");

        Assert.Equal("build-box", box.Name);
        Assert.Equal(HttpStatusCode.OK, theirs.Status);
        Assert.Equal(HttpStatusCode.Conflict, taken.Status);
        Assert.Equal(ErrorCodes.MachineNameTaken, taken.Error().ErrorCode);
        Assert.Equal(box.MachineId, taken.Error().Details!["machine_id"]);
        Assert.Equal("false", Assert.Single(taken.Headers.GetValues("x-should-retry")));
        Assert.Single((await Api.GetAsync("/v1/machines")).MachineList().Items);

        // By name wherever the id goes: retrieve, sessions; a name resolves in the caller's org only.
        Assert.Equal(box.MachineId, (await Api.GetAsync("/v1/machines/build-box")).Machine().MachineId);
        Assert.Equal(theirs.Machine().MachineId, (await other.GetAsync("/v1/machines/build-box")).Machine().MachineId);
        Assert.NotEqual(box.MachineId, theirs.Machine().MachineId);
        await Api.WaitForPhaseAsync("build-box", MachinePhases.Running);
        Assert.Equal(box.MachineId, (await Api.OpenSessionAsync("build-box")).Session().MachineId);

        var renamed = await Api.SendAsync(HttpMethod.Patch, "/v1/machines/build-box", """{"name":"ci box 2"}""");
        Assert.Equal("ci box 2", renamed.Machine().Name);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/v1/machines/build-box")).Status);
        Assert.Equal(box.MachineId, (await Api.GetAsync("/v1/machines/ci%20box%202")).Machine().MachineId);

        var unnamed = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{box.MachineId}", """{"name":""}""");
        Assert.Null(unnamed.Machine().Name);
        await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{box.MachineId}", """{"name":"build-box"}""");
        await Api.SendAsync(HttpMethod.Delete, "/v1/machines/build-box");
        Assert.Equal(HttpStatusCode.OK, (await Api.PostAsync("/v1/machines", """{"name":"build-box"}""")).Status);
    }

    [Fact]
    public async Task A_reboot_stops_with_the_grace_starts_with_a_new_host_key_and_a_replayed_key_returns_the_first_outcome()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var identitiesBefore = Server.Runtime.HostIdentities(machine.MachineId).Count;
        var key = new Dictionary<string, string> { ["Idempotency-Key"] = "reboot-1" };

        var first = await Api.PostAsync($"/v1/machines/{machine.MachineId}/reboot", null, key);
        var rebooted = await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);
        var replay = await Api.PostAsync($"/v1/machines/{machine.MachineId}/reboot", null, key);
        await Server.SettleAsync();

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("reboot_requested", first.Machine().Status.Reason);
        Assert.Equal(first.Body, replay.Body);
        Assert.Equal("reboot-1", Assert.Single(replay.Headers.GetValues("Idempotency-Key")));
        var stop = Assert.Single(Server.Runtime.GracefulStops);
        Assert.Equal((StoreIds.StoreId(machine.MachineId), TimeSpan.FromSeconds(10)), stop);
        Assert.Equal(identitiesBefore + 1, Server.Runtime.HostIdentities(machine.MachineId).Count);
        Assert.Equal(DesiredStates.Running, rebooted.DesiredState);

        var forced = await Api.PostAsync($"/v1/machines/{machine.MachineId}/reboot?force=true", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);
        await Server.SettleAsync();
        Assert.Equal(HttpStatusCode.OK, forced.Status);
        Assert.Equal(TimeSpan.Zero, Server.Runtime.GracefulStops.Last().Grace);
        Assert.Equal(2, Server.Runtime.GracefulStops.Count);
    }

    [Fact]
    public async Task A_reboot_of_a_sleeping_machine_wakes_it_and_bad_reboots_are_refused_without_a_resend()
    {
        var machine = await Api.CreateRunningMachineAsync();
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);

        var woken = await Api.PostAsync($"/v1/machines/{machine.MachineId}/reboot", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);
        var badForce = await Api.PostAsync($"/v1/machines/{machine.MachineId}/reboot?force=maybe", null);
        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        var destroyed = await Api.PostAsync($"/v1/machines/{machine.MachineId}/reboot", null);

        Assert.Equal(DesiredStates.Running, woken.Machine().DesiredState);
        Assert.Empty(Server.Runtime.GracefulStops);
        Assert.Equal(HttpStatusCode.BadRequest, badForce.Status);
        Assert.Equal("force", badForce.Error().Details!["field"]);
        Assert.Equal(HttpStatusCode.Conflict, destroyed.Status);
        Assert.Equal(ErrorCodes.InvalidState, destroyed.Error().ErrorCode);
        Assert.Equal("false", Assert.Single(destroyed.Headers.GetValues("x-should-retry")));
    }

    [Fact]
    public async Task The_machine_switch_overrides_the_org_policy_and_a_put_without_enabled_is_400()
    {
        var machine = await Api.CreateMachineAsync();
        var path = $"/v1/machines/{machine.MachineId}/autoresizing";

        var initial = await Api.GetAsync(path);
        var org = await Api.SendAsync(HttpMethod.Put, "/v1/organization/autoresizing", """{"enabled":true}""");
        var followsOrg = await Api.GetAsync(path);
        var own = await Api.SendAsync(HttpMethod.Put, path, """{"enabled":false}""");
        var overridden = await Api.GetAsync(path);
        var orgNow = await Api.GetAsync("/v1/organization/autoresizing");
        var missing = await Api.SendAsync(HttpMethod.Put, path, "{}");
        var wrongType = await Api.SendAsync(HttpMethod.Put, "/v1/organization/autoresizing", """{"enabled":"yes"}""");

        Assert.Equal("""{"enabled":false}""", initial.Body);
        Assert.Equal("""{"enabled":true}""", org.Body);
        Assert.Equal("""{"enabled":true}""", followsOrg.Body);
        Assert.Equal("""{"enabled":false}""", own.Body);
        Assert.Equal("""{"enabled":false}""", overridden.Body);
        Assert.Equal("""{"enabled":true}""", orgNow.Body);
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Equal("enabled", missing.Error().Details!["field"]);
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.Status);
        using var globex = await Server.NewClientAsync("globex");
        Assert.Equal("""{"enabled":false}""", (await globex.GetAsync("/v1/organization/autoresizing")).Body);
        Assert.Equal(HttpStatusCode.NotFound, (await globex.GetAsync(path)).Status);
    }

    [Fact]
    public async Task Autoresizing_raises_a_pressed_machine_step_by_step_to_its_ceiling_and_off_keeps_what_was_added()
    {
        var machine = await Api.CreateRunningMachineAsync("""{"memory_mib":1024}""");
        var path = $"/v1/machines/{machine.MachineId}";
        await Api.SendAsync(HttpMethod.Put, path + "/autoresizing", """{"enabled":true}""");
        Assert.True(await Eventually.TrueAsync(() => Server.Runtime.MemoryPolicy(machine.MachineId) is { HoldAtLimit: true, LimitMib: 1024 }));

        // 95 % of 1024 MiB in use: one step of a quarter of memory_mib.
        Server.Runtime.SetUsage(machine.MachineId, 973L * 1024 * 1024);
        Assert.True(await Eventually.TrueAsync(async () => (await Api.GetAsync(path)).Machine().Status.MemoryConfiguredMib >= 1280));
        var raised = (await Api.GetAsync(path)).Machine();
        Assert.Equal(1024, raised.MemoryMib);
        Assert.NotNull(raised.Status.MemoryLastAutoresizedAt);

        // Held at the limit until the ceiling (2 x memory_mib); there the hold ends and the state says so.
        Server.Runtime.SetUsage(machine.MachineId, 2048L * 1024 * 1024, held: true);
        Assert.True(await Eventually.TrueAsync(async () => (await Api.GetAsync(path)).Machine().Status.MemoryResizeState == MemoryResizeStates.PendingCapacity));
        var atCeiling = (await Api.GetAsync(path)).Machine();
        Assert.Equal(2048, atCeiling.Status.MemoryConfiguredMib);
        Assert.Equal(2048, atCeiling.Status.MemoryAssignedMib);
        Assert.Equal(new Dedalus.Machines.Runtime.MachineMemoryPolicy(2048, false, 2048), Server.Runtime.MemoryPolicy(machine.MachineId));

        // Off: the memory added stays, the limit is a plain one; a caller's memory_mib is the new base.
        Server.Runtime.SetUsage(machine.MachineId, 0);
        await Api.SendAsync(HttpMethod.Put, path + "/autoresizing", """{"enabled":false}""");
        Assert.True(await Eventually.TrueAsync(async () => (await Api.GetAsync(path)).Machine().Status.MemoryResizeState == MemoryResizeStates.Stable));
        Assert.Equal(2048, (await Api.GetAsync(path)).Machine().Status.MemoryConfiguredMib);
        Assert.False(Server.Runtime.MemoryPolicy(machine.MachineId)!.HoldAtLimit);
        await Api.SendAsync(HttpMethod.Patch, path, """{"memory_mib":1536}""");
        await Server.SettleAsync();
        var rebased = (await Api.GetAsync(path)).Machine();
        Assert.Equal((1536L, 1536L), (rebased.MemoryMib, rebased.Status.MemoryConfiguredMib));
    }

    [Fact]
    public async Task A_session_on_a_sleeping_machine_answers_ready_at_once_when_the_wake_is_quick()
    {
        var machine = await Api.CreateRunningMachineAsync();
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);

        var session = (await Api.OpenSessionAsync(machine.MachineId)).Session();

        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        Assert.NotNull(session.Connection?.UserCertificate);
        Assert.Null(session.RetryAfterMs);
    }
}

/// <summary>Waits that end: a wake slower than the hold answers <c>wake_in_progress</c> with a retry hint.</summary>
public sealed class SessionWakeHoldTests : ServerTestBase
{
    protected override Task<RunningServer> StartServerAsync(string dataDirectory) =>
        RunningServer.StartAsync(dataDirectory, extraArgs: ["--Dedalus:SessionWakeHold", "00:00:00.2"]);

    [Fact]
    public async Task A_wake_slower_than_the_hold_answers_wake_in_progress_and_the_session_turns_ready_after()
    {
        var machine = await Api.CreateRunningMachineAsync();
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Server.Runtime.BeforeStart = (_, token) => release.Task.WaitAsync(token);

        var session = (await Api.OpenSessionAsync(machine.MachineId)).Session();
        release.SetResult();
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);
        var later = (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Session();

        Assert.Equal(SshSessionStatuses.WakeInProgress, session.Status);
        Assert.True(session.RetryAfterMs > 0);
        Assert.Equal(SshSessionStatuses.Ready, later.Status);
    }
}

/// <summary>Destroyed machines leave the list after <c>DestroyedMachineRetention</c>.</summary>
public sealed class DestroyedRetentionTests : ServerTestBase
{
    protected override Task<RunningServer> StartServerAsync(string dataDirectory) =>
        RunningServer.StartAsync(dataDirectory, extraArgs: ["--Dedalus:DestroyedMachineRetention", "00:00:00"]);

    [Fact]
    public async Task A_machine_destroyed_longer_ago_than_the_retention_is_gone_from_the_list_and_404()
    {
        var kept = await Api.CreateMachineAsync();
        var doomed = await Api.CreateRunningMachineAsync();
        var delete = await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{doomed.MachineId}");
        await Server.SettleAsync();

        Assert.Equal(HttpStatusCode.OK, delete.Status);
        Assert.True(await Eventually.TrueAsync(async () => (await Api.GetAsync($"/v1/machines/{doomed.MachineId}")).Status == HttpStatusCode.NotFound));
        Assert.Equal([kept.MachineId], (await Api.GetAsync("/v1/machines")).MachineList().Items.Select(m => m.MachineId));
    }
}
