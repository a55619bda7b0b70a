using Dedalus.Server.Store;

namespace Dedalus.Server.Tests.Store;

public abstract partial class StoreContractTests
{
    // Live gateway connections and a machine's connection history.

    [Fact]
    public async Task A_nodes_live_connections_are_replaced_whole_and_leave_the_other_nodes_rows_alone()
    {
        var org = await OrgAsync();
        var machine = await InsertAsync(NewMachine(org));
        var other = await InsertAsync(NewMachine(org));
        var first = Live(NodeA, 1, machine.Id, T0 + TimeSpan.FromSeconds(2), sessionId: "ss-0123456789abcdef", serial: ulong.MaxValue);
        var second = Live(NodeA, 2, machine.Id, T0 + TimeSpan.FromSeconds(1));
        var onB = Live(NodeB, 1, machine.Id, T0 + TimeSpan.FromSeconds(3), sessionId: "ss-fedcba9876543210", serial: 7);
        var elsewhere = Live(NodeA, 3, other.Id, T0);

        await Store.ReplaceLiveConnectionsAsync(NodeA, [first, second, elsewhere]);
        await Store.ReplaceLiveConnectionsAsync(NodeB, [onB]);
        var both = await Store.ListLiveConnectionsAsync(machine.Id);
        var grown = first with { BytesIn = 99_000_000_000, BytesOut = 12, UpdatedAt = T0 + TimeSpan.FromSeconds(10) };
        await Store.ReplaceLiveConnectionsAsync(NodeA, [grown]);

        // Oldest first, every field as written (a serial above long.MaxValue too, a session that has not logged in yet).
        Assert.Equal([second, first, onB], both);
        Assert.Equal([grown, onB], await Store.ListLiveConnectionsAsync(machine.Id));
        Assert.Empty(await Store.ListLiveConnectionsAsync(other.Id));
        Assert.Empty(await Store.ListLiveConnectionsAsync("dm-00000000-0000-4000-8000-000000000000"));
    }

    [Fact]
    public async Task Replacing_a_nodes_live_connections_with_none_deletes_what_it_left_when_it_stopped()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        await Store.ReplaceLiveConnectionsAsync(NodeA, [Live(NodeA, 1, machine.Id, T0), Live(NodeA, 2, machine.Id, T0)]);
        await Store.ReplaceLiveConnectionsAsync(NodeB, [Live(NodeB, 1, machine.Id, T0)]);

        await Store.ReplaceLiveConnectionsAsync(NodeA, []);

        Assert.Equal([NodeB], (await Store.ListLiveConnectionsAsync(machine.Id)).Select(c => c.NodeId));
    }

    [Fact]
    public async Task A_live_connection_of_another_node_is_refused_and_nothing_is_written()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        await Store.ReplaceLiveConnectionsAsync(NodeA, [Live(NodeA, 1, machine.Id, T0)]);

        await Assert.ThrowsAsync<ArgumentException>(() => Store.ReplaceLiveConnectionsAsync(NodeA, [Live(NodeB, 2, machine.Id, T0)]));

        Assert.Equal([1L], (await Store.ListLiveConnectionsAsync(machine.Id)).Select(c => c.ConnectionId));
    }

    [Fact]
    public async Task Recording_a_connections_end_deletes_its_live_row_in_the_same_write_and_it_reads_in_the_history()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var ending = Live(NodeA, 5, machine.Id, T0, sessionId: "ss-00000000000000aa", serial: 42);
        var staying = Live(NodeA, 6, machine.Id, T0);
        var sameIdOnB = Live(NodeB, 5, machine.Id, T0);
        await Store.ReplaceLiveConnectionsAsync(NodeA, [ending, staying]);
        await Store.ReplaceLiveConnectionsAsync(NodeB, [sameIdOnB]);
        var audit = new ConnectionAudit(
            machine.Id, "ss-00000000000000aa", 42, ending.Peer, T0, T0 + TimeSpan.FromMinutes(3), 1234, 5678, "client_closed", null, new LiveConnectionKey(NodeA, 5));

        await Store.RecordConnectionAsync(audit);

        Assert.Equal([(NodeA, 6L), (NodeB, 5L)], (await Store.ListLiveConnectionsAsync(machine.Id)).Select(c => (c.NodeId, c.ConnectionId)));
        var history = await Store.ListConnectionHistoryAsync(machine.Id, 0, 50);
        Assert.Equal([audit with { Live = null }], history.Items);
        Assert.Null(history.NextAfter);
        Assert.Equal(T0 + TimeSpan.FromMinutes(3), (await Store.GetMachineAsync(machine.Id))!.LastActivityAt);
    }

    [Fact]
    public async Task A_machines_history_is_newest_first_paged_backwards_and_holds_only_its_own_rows()
    {
        var org = await OrgAsync();
        var machine = await InsertAsync(NewMachine(org));
        var other = await InsertAsync(NewMachine(org));
        var recorded = new List<ConnectionAudit>();
        for (var i = 0; i < 5; i++)
        {
            var audit = new ConnectionAudit(
                machine.Id, i % 2 == 0 ? null : $"ss-{i:x16}", i % 2 == 0 ? null : (ulong)i, $"127.0.0.{i + 1}:{40000 + i}", T0 + TimeSpan.FromMinutes(i),
                T0 + TimeSpan.FromMinutes(i + 1), i * 10, i * 100, i % 2 == 0 ? "refused_sleeping" : "machine_closed", i % 2 == 0 ? $"asleep {i}" : null);
            recorded.Add(audit);
            await Store.RecordConnectionAsync(audit);
            await Store.RecordConnectionAsync(audit with { MachineId = other.Id });
        }

        var first = await Store.ListConnectionHistoryAsync(machine.Id, 0, 2);
        var second = await Store.ListConnectionHistoryAsync(machine.Id, first.NextAfter!.Value, 2);
        var last = await Store.ListConnectionHistoryAsync(machine.Id, second.NextAfter!.Value, 2);
        var all = await Store.ListConnectionHistoryAsync(machine.Id, 0, 200);

        Assert.Equal([recorded[4], recorded[3]], first.Items);
        Assert.Equal([recorded[2], recorded[1]], second.Items);
        Assert.Equal([recorded[0]], last.Items);
        Assert.Null(last.NextAfter);
        Assert.Equal(Enumerable.Reverse(recorded), all.Items);
        Assert.Empty((await Store.ListConnectionHistoryAsync("dm-00000000-0000-4000-8000-000000000000", 0, 50)).Items);
    }

    [Fact]
    public async Task The_history_after_a_trim_is_the_newest_rows_the_trim_kept()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        for (var i = 0; i < 6; i++)
        {
            await Store.RecordConnectionAsync(new ConnectionAudit(
                machine.Id, null, null, "127.0.0.1:1", T0, T0 + TimeSpan.FromMinutes(i), 0, 0, "client_closed", null, new LiveConnectionKey(NodeA, i)));
        }

        await Store.TrimConnectionsAsync(T0 - TimeSpan.FromDays(1), perMachine: 3, batch: 100);

        Assert.Equal(
            [T0 + TimeSpan.FromMinutes(5), T0 + TimeSpan.FromMinutes(4), T0 + TimeSpan.FromMinutes(3)],
            (await Store.ListConnectionHistoryAsync(machine.Id, 0, 50)).Items.Select(a => a.EndedAt));
    }

    private static LiveConnectionRecord Live(string node, long connectionId, string machineId, DateTimeOffset startedAt, string? sessionId = null, ulong? serial = null) =>
        new(node, connectionId, machineId, sessionId, serial, $"127.0.0.1:{50000 + connectionId}", startedAt, connectionId * 1000, connectionId * 2000, startedAt + TimeSpan.FromSeconds(2));
}
