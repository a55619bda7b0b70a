using Dedalus.Contracts;

namespace Dedalus.Server.Tests.Store;

public abstract partial class StoreContractTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    [Fact]
    public async Task A_stored_session_reads_back_and_its_insert_returns_the_machine_revision_or_minus_one_when_the_machine_is_gone()
    {
        var machine = await UpdateAsync(await InsertAsync(NewMachine(await OrgAsync())), m => m with { Phase = MachinePhases.Running });
        var session = NewSession(machine, SshSessionStatuses.Ready) with { ReadyAt = T0, CreatedAt = T0 + TimeSpan.FromMinutes(1) };

        var revision = await Store.InsertSessionAsync(session);
        var orphan = await Store.InsertSessionAsync(NewSession(NewMachine(machine.OrgId), SshSessionStatuses.Ready));

        Assert.Equal(2, revision);
        Assert.Equal(-1, orphan);
        Assert.Equal(session, await Store.GetSessionAsync(session.Id));
        Assert.Null(await Store.GetSessionAsync("ss_missing"));
        Assert.Equal(T0 + TimeSpan.FromMinutes(1), (await Store.GetMachineAsync(machine.Id))!.LastActivityAt);
    }

    [Fact]
    public async Task A_serial_of_the_full_64_bits_is_kept_exactly()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var session = NewSession(machine, SshSessionStatuses.Ready) with { Serial = ulong.MaxValue - 5 };

        await Store.InsertSessionAsync(session);
        await Store.CloseSessionAsync(session.Id, T0);

        Assert.Equal(ulong.MaxValue - 5, (await Store.GetSessionAsync(session.Id))!.Serial);
        Assert.Equal([ulong.MaxValue - 5], await Store.ListRevokedSerialsAsync(T0));
    }

    [Fact]
    public async Task Sessions_of_a_machine_page_in_insertion_order()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var other = await InsertAsync(NewMachine(machine.OrgId));
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var session = NewSession(machine, SshSessionStatuses.Ready);
            await Store.InsertSessionAsync(session);
            await Store.InsertSessionAsync(NewSession(other, SshSessionStatuses.Ready));
            ids.Add(session.Id);
        }

        var first = await Store.ListSessionsAsync(machine.Id, 0, 3);
        var second = await Store.ListSessionsAsync(machine.Id, first.NextAfter!.Value, 3);

        Assert.Equal(ids, first.Items.Concat(second.Items).Select(s => s.Id));
        Assert.Null(second.NextAfter);
    }

    [Fact]
    public async Task An_insert_the_admission_check_refuses_stores_no_session()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var session = NewSession(machine, SshSessionStatuses.Ready);

        await Assert.ThrowsAsync<RefusedException>(() => Store.InsertSessionAsync(session, _ => throw new RefusedException()));

        Assert.Null(await Store.GetSessionAsync(session.Id));
        Assert.Equal(0, await Store.ReadResourcesAsync(r => r.LiveSessions(machine.OrgId, T0)));
    }

    [Fact]
    public async Task Live_sessions_are_the_open_unexpired_ones_that_hold_a_certificate()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var ready = NewSession(machine, SshSessionStatuses.Ready);
        var waking = NewSession(machine, SshSessionStatuses.WakeInProgress);
        var connecting = NewSession(machine, SshSessionStatuses.SshInProgress);
        foreach (var session in new[]
        {
            ready, waking, connecting,
            NewSession(machine, SshSessionStatuses.Ready, expiresAt: T0), NewSession(machine, SshSessionStatuses.Closed),
            NewSession(machine, SshSessionStatuses.Failed), NewSession(machine, SshSessionStatuses.Ready, certificate: false),
        })
        {
            await Store.InsertSessionAsync(session);
        }

        var live = await Store.ListLiveSessionsAsync(T0);

        Assert.Equal([ready.Id, waking.Id, connecting.Id], live.Select(s => s.Id));
        Assert.True(await Store.HasLiveSessionAsync(machine.Id, T0));
        Assert.False(await Store.HasLiveSessionAsync(machine.Id, T0 + Hour));
    }

    [Fact]
    public async Task Waiting_sessions_turn_ready_change_their_waiting_status_or_fail_and_expired_ones_are_left()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var waking = NewSession(machine, SshSessionStatuses.WakeInProgress);
        var lapsed = NewSession(machine, SshSessionStatuses.WakeInProgress, expiresAt: T0);
        var ready = NewSession(machine, SshSessionStatuses.Ready);
        foreach (var session in new[] { waking, lapsed, ready })
        {
            await Store.InsertSessionAsync(session);
        }

        Assert.Equal(1, await Store.MarkSessionsWaitingAsync(machine.Id, SshSessionStatuses.SshInProgress, T0));
        Assert.Equal(SshSessionStatuses.SshInProgress, (await Store.GetSessionAsync(waking.Id))!.Status);
        Assert.Equal(0, await Store.MarkSessionsWaitingAsync(machine.Id, SshSessionStatuses.SshInProgress, T0));

        Assert.Equal(1, await Store.MarkSessionsReadyAsync(machine.Id, T0 + TimeSpan.FromSeconds(1)));
        var nowReady = (await Store.GetSessionAsync(waking.Id))!;
        Assert.Equal((SshSessionStatuses.Ready, (DateTimeOffset?)(T0 + TimeSpan.FromSeconds(1))), (nowReady.Status, nowReady.ReadyAt));
        Assert.Equal(SshSessionStatuses.WakeInProgress, (await Store.GetSessionAsync(lapsed.Id))!.Status);

        Assert.Equal(1, await Store.FailWaitingSessionsAsync(machine.Id, "machine_failed", "the machine failed"));
        var failed = (await Store.GetSessionAsync(lapsed.Id))!;
        Assert.Equal((SshSessionStatuses.Failed, "machine_failed", "the machine failed"), (failed.Status, failed.ErrorCode, failed.ErrorMessage));
        Assert.Equal(SshSessionStatuses.Ready, (await Store.GetSessionAsync(ready.Id))!.Status);
    }

    [Fact]
    public async Task Ending_a_destroyed_machines_sessions_closes_ready_ones_fails_waiting_ones_and_revokes_the_unexpired_certificates()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var other = await InsertAsync(NewMachine(machine.OrgId));
        var ready = NewSession(machine, SshSessionStatuses.Ready);
        var waking = NewSession(machine, SshSessionStatuses.WakeInProgress);
        var noCertificate = NewSession(machine, SshSessionStatuses.SshInProgress, certificate: false);
        var closed = NewSession(machine, SshSessionStatuses.Closed);
        var elsewhere = NewSession(other, SshSessionStatuses.Ready);
        foreach (var session in new[] { ready, waking, noCertificate, closed, elsewhere })
        {
            await Store.InsertSessionAsync(session);
        }

        var revoked = await Store.EndMachineSessionsAsync(machine.Id, T0 + TimeSpan.FromMinutes(1), "machine_destroyed", "the machine was destroyed");

        Assert.Equal(2, revoked);
        var endedReady = (await Store.GetSessionAsync(ready.Id))!;
        Assert.Equal((SshSessionStatuses.Closed, (DateTimeOffset?)(T0 + TimeSpan.FromMinutes(1)), "machine_destroyed"), (endedReady.Status, endedReady.ClosedAt, endedReady.ErrorCode));
        Assert.Equal(SshSessionStatuses.Failed, (await Store.GetSessionAsync(waking.Id))!.Status);
        Assert.Equal(SshSessionStatuses.Failed, (await Store.GetSessionAsync(noCertificate.Id))!.Status);
        Assert.Equal(SshSessionStatuses.Closed, (await Store.GetSessionAsync(closed.Id))!.Status);
        Assert.Null((await Store.GetSessionAsync(closed.Id))!.ErrorCode);
        Assert.Equal(SshSessionStatuses.Ready, (await Store.GetSessionAsync(elsewhere.Id))!.Status);
        Assert.Equal(new[] { ready.Serial, waking.Serial }.Order(), (await Store.ListRevokedSerialsAsync(T0)).Order());
    }

    [Fact]
    public async Task Open_sessions_past_their_expiry_are_marked_expired()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var lapsed = NewSession(machine, SshSessionStatuses.Ready, expiresAt: T0);
        var lapsedWaiting = NewSession(machine, SshSessionStatuses.WakeInProgress, expiresAt: T0 - TimeSpan.FromSeconds(1));
        var fresh = NewSession(machine, SshSessionStatuses.Ready);
        var closed = NewSession(machine, SshSessionStatuses.Closed, expiresAt: T0);
        foreach (var session in new[] { lapsed, lapsedWaiting, fresh, closed })
        {
            await Store.InsertSessionAsync(session);
        }

        Assert.Equal(2, await Store.ExpireSessionsAsync(T0));

        Assert.Equal(SshSessionStatuses.Expired, (await Store.GetSessionAsync(lapsed.Id))!.Status);
        Assert.Equal(SshSessionStatuses.Expired, (await Store.GetSessionAsync(lapsedWaiting.Id))!.Status);
        Assert.Equal(SshSessionStatuses.Ready, (await Store.GetSessionAsync(fresh.Id))!.Status);
        Assert.Equal(SshSessionStatuses.Closed, (await Store.GetSessionAsync(closed.Id))!.Status);
    }

    [Fact]
    public async Task Closing_a_session_revokes_its_serial_once_until_its_certificate_lapses()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var session = NewSession(machine, SshSessionStatuses.Ready);
        await Store.InsertSessionAsync(session);

        Assert.True(await Store.CloseSessionAsync(session.Id, T0 + TimeSpan.FromMinutes(1)));
        Assert.False(await Store.CloseSessionAsync(session.Id, T0 + TimeSpan.FromMinutes(2)));
        Assert.False(await Store.CloseSessionAsync("ss_missing", T0));

        var closed = (await Store.GetSessionAsync(session.Id))!;
        Assert.Equal((SshSessionStatuses.Closed, (DateTimeOffset?)(T0 + TimeSpan.FromMinutes(1))), (closed.Status, closed.ClosedAt));
        Assert.Equal([session.Serial], await Store.ListRevokedSerialsAsync(T0 + TimeSpan.FromMinutes(2)));
        Assert.Empty(await Store.ListRevokedSerialsAsync(session.ExpiresAt));
    }

    [Fact]
    public async Task Concurrent_session_inserts_whose_admission_allows_five_live_sessions_store_exactly_five()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        const int Limit = 5;

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => Task.Run(async () =>
        {
            try
            {
                await Store.InsertSessionAsync(NewSession(machine, SshSessionStatuses.Ready), reader =>
                {
                    if (reader.LiveSessions(machine.OrgId, T0) >= Limit)
                    {
                        throw new RefusedException();
                    }
                });
                return true;
            }
            catch (RefusedException)
            {
                return false;
            }
        })));

        Assert.Equal(Limit, outcomes.Count(admitted => admitted));
        Assert.Equal(Limit, (await Store.ListSessionsAsync(machine.Id, 0, 100)).Items.Count);
        Assert.Equal(Limit, await Store.ReadResourcesAsync(r => r.LiveSessions(machine.OrgId, T0)));
    }
}
