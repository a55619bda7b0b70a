using Dedalus.Contracts;
using Dedalus.Server.Store;

namespace Dedalus.Server.Tests.Store;

public abstract partial class StoreContractTests
{
    // Idempotency.

    [Fact]
    public async Task An_idempotency_key_is_claimed_once_then_replays_the_completed_response()
    {
        var org = await OrgAsync();
        byte[] body = [0x7b, 0x00, 0xff, 0x7d];

        Assert.Null(await Store.TryBeginIdempotentAsync(org, "k1", "hash-a", T0));
        var inFlight = await Store.TryBeginIdempotentAsync(org, "k1", "hash-a", T0 + TimeSpan.FromSeconds(1));
        await Store.CompleteIdempotentAsync(org, "k1", 200, "\"3\"", "application/json", body, "op-1");
        var completed = await Store.TryBeginIdempotentAsync(org, "k1", "hash-b", T0 + TimeSpan.FromSeconds(2));

        Assert.NotNull(inFlight);
        Assert.False(inFlight.Completed);
        Assert.Equal("hash-a", inFlight.RequestHash);
        Assert.NotNull(completed);
        Assert.Equal(("hash-a", true, 200, "\"3\"", "application/json", "op-1"),
            (completed.RequestHash, completed.Completed, completed.StatusCode, completed.ETag, completed.ContentType, completed.StorageOperationId));
        Assert.Equal(body, completed.Body);
        Assert.Null(await Store.TryBeginIdempotentAsync(await OrgAsync("globex"), "k1", "hash-b", T0));
    }

    [Fact]
    public async Task Abandoning_a_claim_frees_the_key_but_a_completed_record_stays()
    {
        var org = await OrgAsync();
        await Store.TryBeginIdempotentAsync(org, "abandoned", "hash-a", T0);
        await Store.TryBeginIdempotentAsync(org, "done", "hash-a", T0);
        await Store.CompleteIdempotentAsync(org, "done", 201, null, null, []);

        await Store.AbandonIdempotentAsync(org, "abandoned");
        await Store.AbandonIdempotentAsync(org, "done");

        Assert.Null(await Store.TryBeginIdempotentAsync(org, "abandoned", "hash-b", T0));
        var done = await Store.TryBeginIdempotentAsync(org, "done", "hash-a", T0);
        Assert.Equal((true, 201, (string?)null), (done!.Completed, done.StatusCode, done.ETag));
    }

    [Fact]
    public async Task A_claim_whose_request_never_finished_is_taken_over_after_its_lease_but_not_before()
    {
        var org = await OrgAsync();
        await Store.TryBeginIdempotentAsync(org, "crashed", "hash-a", T0);

        var soon = await Store.TryBeginIdempotentAsync(org, "crashed", "hash-b", T0 + TimeSpan.FromSeconds(1));
        var muchLater = await Store.TryBeginIdempotentAsync(org, "crashed", "hash-b", T0 + TimeSpan.FromHours(1));
        var repeat = await Store.TryBeginIdempotentAsync(org, "crashed", "hash-c", T0 + TimeSpan.FromHours(1));

        Assert.Equal("hash-a", soon?.RequestHash);
        Assert.Null(muchLater);
        Assert.Equal("hash-b", repeat?.RequestHash);
    }

    // Quotas and resources.

    [Fact]
    public async Task Quota_overrides_are_set_replaced_and_removed_per_org()
    {
        var acme = await OrgAsync("acme");
        var globex = await OrgAsync("globex");

        await Store.SetQuotaOverridesAsync(acme, new Dictionary<string, string?> { ["machines"] = "5", ["vcpu"] = "25%" }, T0);
        await Store.SetQuotaOverridesAsync(acme, new Dictionary<string, string?> { ["machines"] = "7", ["vcpu"] = null, ["sessions"] = "unlimited" }, T0);
        await Store.SetQuotaOverridesAsync(globex, new Dictionary<string, string?> { ["machines"] = "1" }, T0);

        Assert.Equal(
            new Dictionary<string, string> { ["machines"] = "7", ["sessions"] = "unlimited" },
            await Store.ReadResourcesAsync(r => r.QuotaOverrides(acme)));
        Assert.Empty(await Store.ReadResourcesAsync(r => r.QuotaOverrides("org-none")));
    }

    [Fact]
    public async Task Resource_reads_count_what_the_orgs_machines_sessions_and_executions_hold()
    {
        var acme = await OrgAsync("acme");
        var globex = await OrgAsync("globex");
        var running = await InsertAsync(NewMachine(acme) with { Vcpu = 2, MemoryMib = 1024, StorageGib = 10 });
        var releasing = await UpdateAsync(
            await InsertAsync(NewMachine(acme) with { Vcpu = 0.5, MemoryMib = 512, StorageGib = 5 }),
            m => m with { DesiredState = DesiredStates.Destroyed, Phase = MachinePhases.Destroying });
        await DestroyAsync(await InsertAsync(NewMachine(acme) with { Vcpu = 8, MemoryMib = 8192, StorageGib = 100 }), T0);
        await InsertAsync(NewMachine(globex) with { Vcpu = 1, MemoryMib = 256, StorageGib = 3 });
        await Store.InsertSessionAsync(NewSession(running, SshSessionStatuses.Ready, expiresAt: T0 + TimeSpan.FromMinutes(30)));
        await Store.InsertSessionAsync(NewSession(running, SshSessionStatuses.WakeInProgress, expiresAt: T0 + TimeSpan.FromMinutes(10)));
        await Store.InsertSessionAsync(NewSession(running, SshSessionStatuses.Closed, expiresAt: T0 + TimeSpan.FromMinutes(5)));
        await Store.InsertSessionAsync(NewSession(running, SshSessionStatuses.Ready, expiresAt: T0));
        await InsertExecutionAsync(NewExecution(running));
        await InsertExecutionAsync(NewExecution(releasing));
        await FinishAsync(await InsertExecutionAsync(NewExecution(running)), T0);

        var (machines, storage, sessions, expiry, executions, onMachine, globexSessions) = await Store.ReadResourcesAsync(r => (
            r.Machines(acme), r.CommittedStorageGib(NodeA), r.LiveSessions(acme, T0), r.NextSessionExpiry(acme, T0), r.LiveExecutions(acme),
            r.MachineLiveExecutions(running.Id), r.NextSessionExpiry(globex, T0)));

        Assert.Equal(new OrgMachines(new MachineUsage(2, 2.5, 1536, 15), new MachineUsage(1, 0.5, 512, 5)), machines);
        Assert.Equal(18, storage);
        Assert.Equal(2, sessions);
        Assert.Equal(T0 + TimeSpan.FromMinutes(10), expiry);
        Assert.Equal(2, executions);
        Assert.Equal(1, onMachine);
        Assert.Null(globexSessions);
        Assert.Equal(new OrgMachines(new MachineUsage(0, 0, 0, 0), new MachineUsage(0, 0, 0, 0)), await Store.ReadResourcesAsync(r => r.Machines("org-none")));
    }

    // Gateway audit.

    [Fact]
    public async Task A_recorded_connection_is_activity_until_its_end()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));

        await Store.RecordConnectionAsync(Connection(machine.Id, T0 + TimeSpan.FromMinutes(9)));
        await Store.RecordConnectionAsync(Connection(machine.Id, T0 + TimeSpan.FromMinutes(4)));

        Assert.Equal(T0 + TimeSpan.FromMinutes(9), (await Store.GetMachineAsync(machine.Id))!.LastActivityAt);
    }

    [Fact]
    public async Task Trimming_deletes_the_oldest_rows_over_a_machines_cap_first_then_expired_rows_within_the_batch()
    {
        var org = await OrgAsync();
        var busy = await InsertAsync(NewMachine(org));
        var quiet = await InsertAsync(NewMachine(org));
        for (var i = 0; i < 5; i++)
        {
            await Store.RecordConnectionAsync(Connection(busy.Id, T0 + TimeSpan.FromMinutes(i)));
        }

        await Store.RecordConnectionAsync(Connection(quiet.Id, T0 - TimeSpan.FromDays(1)));
        await Store.RecordConnectionAsync(Connection(quiet.Id, T0 + TimeSpan.FromMinutes(1)));

        var first = await Store.TrimConnectionsAsync(T0, perMachine: 2, batch: 2);
        var second = await Store.TrimConnectionsAsync(T0, perMachine: 2, batch: 10);
        var none = await Store.TrimConnectionsAsync(T0, perMachine: 2, batch: 10);
        // busy kept its two newest (minutes 3 and 4): its minute 3 and quiet's minute 1 ended before minute 4.
        var newest = await Store.TrimConnectionsAsync(T0 + TimeSpan.FromMinutes(4), perMachine: 2, batch: 10);

        Assert.Equal(new ConnectionAuditTrim(2, 0), first);
        Assert.Equal(new ConnectionAuditTrim(1, 1), second);
        Assert.Equal(new ConnectionAuditTrim(0, 0), none);
        Assert.Equal(new ConnectionAuditTrim(0, 2), newest);
    }

    // Retention.

    [Fact]
    public async Task Pruning_removes_old_idempotency_records_old_events_but_each_machines_latest_and_lapsed_revocations()
    {
        var org = await OrgAsync();
        var machine = await InsertAsync(NewMachine(org, at: T0 - TimeSpan.FromDays(3)));
        var stale = await UpdateAsync(machine, m => m with { Phase = MachinePhases.Starting, LastProgressAt = T0 - TimeSpan.FromDays(2) });
        var idle = await InsertAsync(NewMachine(org, at: T0 - TimeSpan.FromDays(3)));
        await UpdateAsync(stale, m => m with { Phase = MachinePhases.Running, LastProgressAt = T0 });
        await Store.TryBeginIdempotentAsync(org, "old", "h", T0 - TimeSpan.FromDays(2));
        await Store.TryBeginIdempotentAsync(org, "new", "h", T0);
        var lapsing = NewSession(machine, SshSessionStatuses.Ready, expiresAt: T0 + TimeSpan.FromMinutes(1));
        var lasting = NewSession(machine, SshSessionStatuses.Ready, expiresAt: T0 + TimeSpan.FromHours(1));
        await Store.InsertSessionAsync(lapsing);
        await Store.InsertSessionAsync(lasting);
        await Store.CloseSessionAsync(lapsing.Id, T0);
        await Store.CloseSessionAsync(lasting.Id, T0);

        var pruned = await Store.PruneAsync(T0 - TimeSpan.FromDays(1), T0 + TimeSpan.FromMinutes(2));

        Assert.Equal(1 + 2 + 1, pruned);
        Assert.Equal([3L], (await Store.GetMachineEventsAsync(machine.Id, 0)).Select(e => e.Revision));
        Assert.Single(await Store.GetMachineEventsAsync(idle.Id, 0));
        Assert.Equal("h", (await Store.TryBeginIdempotentAsync(org, "new", "h", T0))?.RequestHash);
        Assert.Null(await Store.TryBeginIdempotentAsync(org, "old", "other", T0));
        Assert.Equal([lasting.Serial], await Store.ListRevokedSerialsAsync(T0));
    }

    private static ConnectionAudit Connection(string machineId, DateTimeOffset endedAt) =>
        new(machineId, null, null, "127.0.0.1:50000", endedAt - TimeSpan.FromSeconds(30), endedAt, 100, 200, "client_closed", null);
}
