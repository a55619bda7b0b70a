using Dedalus.Contracts;
using Dedalus.Server.Store;

namespace Dedalus.Server.Tests.Store;

public abstract partial class StoreContractTests
{
    [Fact]
    public async Task An_inserted_machine_reads_back_field_for_field_with_the_node_and_port_it_was_given()
    {
        var org = await OrgAsync();
        var machine = NewMachine(org, "web-1") with
        {
            Retryable = true,
            LastError = "runc: boom",
            ResourcesDirty = true,
            Reboot = RebootModes.Graceful,
            Autoresize = false,
            MemoryAutoresizedMib = 512,
            MemoryLastAutoresizedAt = T0 - TimeSpan.FromMinutes(3),
            MemoryResizeState = MemoryResizeStates.PendingCapacity,
            NetworkPolicy = """{"egress":"none"}""",
        };

        var stored = await InsertAsync(machine);

        Assert.Equal(machine with { GatewayPort = 2100, NodeId = NodeA }, stored);
        Assert.Equal(stored, await Store.GetMachineAsync(machine.Id));
        Assert.Equal(stored, await Store.FindMachineByNameAsync(org, "web-1"));
        Assert.Null(await Store.GetMachineAsync(MachineIds.Format(Guid.NewGuid())));
    }

    [Fact]
    public async Task An_update_writes_every_field_including_the_gateway_port_error()
    {
        var stored = await InsertAsync(NewMachine(await OrgAsync()));

        var updated = await UpdateAsync(stored, m => m with
        {
            Vcpu = 2, MemoryMib = 4096, StorageGib = 20, AutosleepSeconds = 0, Phase = MachinePhases.Running, Reason = "started",
            LastTransitionAt = T0 + TimeSpan.FromSeconds(1), LastProgressAt = T0 + TimeSpan.FromSeconds(2), LastActivityAt = T0 + TimeSpan.FromSeconds(3),
            GatewayPortError = "address in use", Name = "renamed", Autoresize = true, MemoryResizeState = MemoryResizeStates.Error,
        });

        Assert.Equal(updated, await Store.GetMachineAsync(stored.Id));
    }

    [Fact]
    public async Task Machines_get_the_lowest_free_port_and_none_once_the_range_is_exhausted()
    {
        var org = await OrgAsync();

        var ports = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            ports.Add((await Store.InsertMachineAsync(NewMachine(org), Place(2100, 2102), Payload))!.GatewayPort);
        }

        var refused = NewMachine(org);
        Assert.Null(await Store.InsertMachineAsync(refused, Place(2100, 2102), Payload));
        Assert.Equal([2100, 2101, 2102], ports);
        Assert.Null(await Store.GetMachineAsync(refused.Id));
    }

    [Fact]
    public async Task A_port_is_free_again_only_once_its_machine_is_destroyed_not_when_the_destruction_is_asked()
    {
        var org = await OrgAsync();
        var first = await InsertAsync(NewMachine(org), 2100, 2101);
        await InsertAsync(NewMachine(org), 2100, 2101);

        var destroying = await UpdateAsync(first, m => m with { DesiredState = DesiredStates.Destroyed, Phase = MachinePhases.Destroying });
        Assert.Null(await Store.InsertMachineAsync(NewMachine(org), Place(2100, 2101), Payload));
        await UpdateAsync(destroying, m => m with { Phase = MachinePhases.Destroyed });
        var next = await Store.InsertMachineAsync(NewMachine(org), Place(2100, 2101), Payload);

        Assert.Equal(2100, next?.GatewayPort);
    }

    [Fact]
    public async Task A_name_another_live_machine_of_the_org_holds_is_refused_and_nothing_is_written()
    {
        var acme = await OrgAsync("acme");
        var holder = await InsertAsync(NewMachine(acme, "db"));

        var duplicate = NewMachine(acme, "db");
        var refused = await Assert.ThrowsAsync<MachineNameTakenException>(() => Store.InsertMachineAsync(duplicate, Place(PortLow, PortHigh), Payload));

        Assert.Equal("db", refused.Name);
        Assert.Equal(holder.Id, refused.HolderId);
        Assert.Null(await Store.GetMachineAsync(duplicate.Id));
        Assert.Empty(await Store.GetMachineEventsAsync(duplicate.Id, 0));
        Assert.NotNull(await Store.InsertMachineAsync(NewMachine(await OrgAsync("globex"), "db"), Place(PortLow, PortHigh), Payload));
    }

    [Fact]
    public async Task A_rename_onto_a_taken_name_is_refused_and_a_destroyed_machine_frees_its_name()
    {
        var org = await OrgAsync();
        var db = await InsertAsync(NewMachine(org, "db"));
        var web = await InsertAsync(NewMachine(org, "web"));

        await Assert.ThrowsAsync<MachineNameTakenException>(() => Store.TryUpdateMachineAsync(web with { Name = "db", Revision = 2 }, 1, Payload(web)));
        Assert.Equal("web", (await Store.GetMachineAsync(web.Id))!.Name);

        await UpdateAsync(db, m => m with { DesiredState = DesiredStates.Destroyed, Phase = MachinePhases.Destroying });
        var renamed = await UpdateAsync(web, m => m with { Name = "db" });

        Assert.Equal(renamed, await Store.FindMachineByNameAsync(org, "db"));
    }

    [Fact]
    public async Task An_insert_the_admission_check_refuses_writes_nothing()
    {
        var org = await OrgAsync();
        var machine = NewMachine(org, "refused");
        IResourceReader? seen = null;

        await Assert.ThrowsAsync<RefusedException>(() => Store.InsertMachineAsync(machine, Place(PortLow, PortHigh), Payload, reader =>
        {
            seen = reader;
            throw new RefusedException();
        }));

        Assert.NotNull(seen);
        Assert.Null(await Store.GetMachineAsync(machine.Id));
        Assert.Empty((await Store.ListMachinesAsync(org, 0, 10, T0)).Items);
        Assert.Empty(await Store.GetMachineEventsAsync(machine.Id, 0));
        Assert.Equal(PortLow, (await InsertAsync(NewMachine(org, "refused"))).GatewayPort);
    }

    [Fact]
    public async Task An_update_the_admission_check_refuses_writes_nothing()
    {
        var stored = await InsertAsync(NewMachine(await OrgAsync()));

        await Assert.ThrowsAsync<RefusedException>(() =>
            Store.TryUpdateMachineAsync(stored with { Vcpu = 8, Revision = 2 }, 1, Payload(stored), _ => throw new RefusedException()));

        Assert.Equal(stored, await Store.GetMachineAsync(stored.Id));
        Assert.Single(await Store.GetMachineEventsAsync(stored.Id, 0));
    }

    [Fact]
    public async Task Paging_lists_every_machine_of_the_org_once_in_insertion_order()
    {
        var acme = await OrgAsync("acme");
        var globex = await OrgAsync("globex");
        var inserted = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            inserted.Add((await InsertAsync(NewMachine(acme))).Id);
            await InsertAsync(NewMachine(globex));
        }

        var listed = new List<string>();
        var pages = 0;
        long after = 0;
        while (true)
        {
            var page = await Store.ListMachinesAsync(acme, after, 3, T0);
            pages++;
            listed.AddRange(page.Items.Select(m => m.Id));
            Assert.True(page.Items.Count <= 3);
            if (page.NextAfter is not { } next)
            {
                break;
            }

            after = next;
        }

        Assert.Equal(inserted, listed);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task A_destroyed_machine_is_listed_only_while_its_destruction_is_no_older_than_destroyed_since()
    {
        var org = await OrgAsync();
        var live = await InsertAsync(NewMachine(org));
        var gone = await DestroyAsync(await InsertAsync(NewMachine(org)), T0 + TimeSpan.FromMinutes(5));

        var recent = await Store.ListMachinesAsync(org, 0, 10, T0 + TimeSpan.FromMinutes(5));
        var later = await Store.ListMachinesAsync(org, 0, 10, T0 + TimeSpan.FromMinutes(5) + TimeSpan.FromMilliseconds(1));

        Assert.Equal([live.Id, gone.Id], recent.Items.Select(m => m.Id));
        Assert.Equal([live.Id], later.Items.Select(m => m.Id));
        Assert.Equal([live.Id], (await Store.ListLiveMachinesAsync()).Select(m => m.Id));
        Assert.Equal(MachinePhases.Destroyed, (await Store.GetMachineAsync(gone.Id))!.Phase);
    }

    [Fact]
    public async Task An_update_at_a_stale_revision_is_refused_and_changes_nothing()
    {
        var stored = await InsertAsync(NewMachine(await OrgAsync()));
        var first = await UpdateAsync(stored, m => m with { DesiredState = DesiredStates.Sleeping });

        var stale = await Store.TryUpdateMachineAsync(stored with { Vcpu = 4, Revision = 2 }, stored.Revision, Payload(stored));

        Assert.False(stale);
        Assert.Equal(first, await Store.GetMachineAsync(stored.Id));
        Assert.Equal(2, (await Store.GetMachineEventsAsync(stored.Id, 0)).Count);
    }

    [Fact]
    public async Task A_move_to_a_port_another_live_machine_holds_is_refused()
    {
        var org = await OrgAsync();
        var a = await InsertAsync(NewMachine(org));
        var b = await InsertAsync(NewMachine(org));

        var onto = await Store.TryUpdateMachineAsync(b with { GatewayPort = a.GatewayPort, Revision = 2 }, 1, Payload(b));
        var free = await Store.TryUpdateMachineAsync(b with { GatewayPort = 2150, Revision = 2 }, 1, Payload(b));

        Assert.False(onto);
        Assert.True(free);
        Assert.Equal(2150, (await Store.GetMachineAsync(b.Id))!.GatewayPort);
    }

    [Fact]
    public async Task Machine_events_follow_every_write_in_order_and_a_cursor_returns_only_later_ones()
    {
        var stored = await InsertAsync(NewMachine(await OrgAsync()));
        var other = await InsertAsync(NewMachine(stored.OrgId));
        var second = await UpdateAsync(stored, m => m with { Phase = MachinePhases.Starting });
        await UpdateAsync(other, m => m with { Phase = MachinePhases.Starting });
        var third = await UpdateAsync(second, m => m with { Phase = MachinePhases.Running });

        var all = await Store.GetMachineEventsAsync(stored.Id, 0);
        var after = await Store.GetMachineEventsAsync(stored.Id, all[0].Sequence);

        Assert.Equal([1L, 2L, 3L], all.Select(e => e.Revision));
        Assert.All(all, e => Assert.Equal(stored.Id, e.MachineId));
        Assert.Equal(all.Select(e => e.Sequence).Order(), all.Select(e => e.Sequence));
        Assert.Equal(Payload(third), all[2].Payload);
        Assert.Equal(all.Skip(1), after);
        Assert.Empty(await Store.GetMachineEventsAsync(stored.Id, all[2].Sequence));
    }

    [Fact]
    public async Task A_network_address_is_the_first_candidate_no_other_live_machine_holds_and_is_kept_when_accepted()
    {
        var org = await OrgAsync();
        var a = await InsertAsync(NewMachine(org));
        var b = await InsertAsync(NewMachine(org));
        string[] candidates = ["10.0.0.2", "10.0.0.3", "10.0.0.4"];

        Assert.Equal("10.0.0.2", await Store.AssignNetworkAddressAsync(a.Id, candidates, _ => true));
        Assert.Equal("10.0.0.3", await Store.AssignNetworkAddressAsync(b.Id, candidates, _ => true));
        Assert.Equal("10.0.0.3", await Store.AssignNetworkAddressAsync(b.Id, candidates, _ => true));
        Assert.Equal("10.0.0.4", await Store.AssignNetworkAddressAsync(b.Id, ["10.0.0.2", "10.0.0.4"], held => held != "10.0.0.3"));
        Assert.Equal("10.0.0.4", (await Store.GetMachineAsync(b.Id))!.NetworkAddress);
        Assert.Null(await Store.AssignNetworkAddressAsync(MachineIds.Format(Guid.NewGuid()), candidates, _ => true));

        var c = await InsertAsync(NewMachine(org));
        Assert.Null(await Store.AssignNetworkAddressAsync(c.Id, ["10.0.0.2", "10.0.0.4"], _ => true));
        await DestroyAsync((await Store.GetMachineAsync(a.Id))!, T0);
        Assert.Equal("10.0.0.2", await Store.AssignNetworkAddressAsync(c.Id, ["10.0.0.2", "10.0.0.4"], _ => true));
        Assert.Null(await Store.AssignNetworkAddressAsync(a.Id, candidates, _ => true));
    }

    [Fact]
    public async Task Twenty_concurrent_inserts_get_twenty_distinct_ports()
    {
        var org = await OrgAsync();

        var inserted = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => Store.InsertMachineAsync(NewMachine(org), Place(PortLow, PortHigh), Payload))));

        Assert.All(inserted, Assert.NotNull);
        Assert.Equal(Enumerable.Range(PortLow, 20), inserted.Select(m => m!.GatewayPort).Order());
        Assert.Equal(20, (await Store.ListLiveMachinesAsync()).Select(m => m.GatewayPort).Distinct().Count());
    }
}
