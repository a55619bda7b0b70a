using Dedalus.Contracts;
using Dedalus.Server.Store;

namespace Dedalus.Server.Tests.Store;

public abstract partial class StoreContractTests
{
    // Nodes.

    [Fact]
    public async Task A_node_registers_with_every_field_heartbeats_and_registering_again_replaces_its_row()
    {
        var node = Node(NodeA, "alpha");
        await Store.RegisterNodeAsync(node);
        Assert.Equal([Comparable(node)], (await Store.ListNodesAsync()).Select(Comparable));

        Assert.True(await Store.HeartbeatNodeAsync(NodeA, T0 + TimeSpan.FromSeconds(2), 77, "SHA256:u2 SHA256:h2"));
        var beaten = Assert.Single(await Store.ListNodesAsync());
        Assert.Equal(T0 + TimeSpan.FromSeconds(2), beaten.HeartbeatAt);
        Assert.Equal(77, beaten.StorageGib);
        Assert.Equal("SHA256:u2 SHA256:h2", beaten.CaFingerprint);
        Assert.False(await Store.HeartbeatNodeAsync(NodeB, T0, 1, "x"));

        var again = Node(NodeA, "alpha-2") with { GatewayHosts = ["gw-2.example", "gw-2b.example"], GatewayPortLow = 3000, GatewayPortHigh = 3009, Vcpu = 2.5 };
        await Store.RegisterNodeAsync(again);
        await Store.RegisterNodeAsync(Node(NodeB, "beta"));
        var nodes = await Store.ListNodesAsync();
        Assert.Equal([Comparable(again), Comparable(Node(NodeB, "beta"))], nodes.Select(Comparable));
    }

    [Fact]
    public async Task Node_loads_count_each_nodes_machines_that_are_not_destroyed_and_a_node_without_machines()
    {
        var org = await OrgAsync();
        await Store.RegisterNodeAsync(Node(NodeA, "alpha"));
        await Store.RegisterNodeAsync(Node(NodeB, "beta"));
        await InsertAsync(NewMachine(org));
        var gone = await InsertAsync(NewMachine(org));
        await DestroyAsync(gone, T0);
        var asked = await InsertAsync(NewMachine(org));
        await UpdateAsync(asked, m => m with { DesiredState = DesiredStates.Destroyed, Phase = MachinePhases.Destroying });

        var loads = await Store.ReadResourcesAsync(r => r.NodeLoads());

        Assert.Equal([NodeA, NodeB], loads.Select(l => l.Node.Id));
        Assert.Equal((2L, 3.0, 4096L, 20L), (loads[0].Machines, loads[0].Vcpu, loads[0].MemoryMib, loads[0].StorageGib));
        Assert.Equal((0L, 0.0, 0L, 0L), (loads[1].Machines, loads[1].Vcpu, loads[1].MemoryMib, loads[1].StorageGib));
        Assert.Equal(20, await Store.ReadResourcesAsync(r => r.CommittedStorageGib(NodeA)));
        Assert.Equal(0, await Store.ReadResourcesAsync(r => r.CommittedStorageGib(NodeB)));
    }

    [Fact]
    public async Task Gateway_ports_are_unique_per_node_so_two_nodes_with_one_range_both_start_at_its_first_port()
    {
        var org = await OrgAsync();

        var onA = await Store.InsertMachineAsync(NewMachine(org), Place(2100, 2101, NodeA), Payload);
        var onB = await Store.InsertMachineAsync(NewMachine(org), Place(2100, 2101, NodeB), Payload);
        var secondOnA = await Store.InsertMachineAsync(NewMachine(org), Place(2100, 2101, NodeA), Payload);

        Assert.Equal((NodeA, 2100), (onA!.NodeId, onA.GatewayPort));
        Assert.Equal((NodeB, 2100), (onB!.NodeId, onB.GatewayPort));
        Assert.Equal(2101, secondOnA!.GatewayPort);

        // A move within its node may not take a port another machine of that node holds; another node's does not count.
        var moveOnto = onA with { GatewayPort = 2101, Revision = onA.Revision + 1 };
        Assert.False(await Store.TryUpdateMachineAsync(moveOnto, onA.Revision, Payload(moveOnto)));
        var moveB = onB with { GatewayPort = 2101, Revision = onB.Revision + 1 };
        Assert.True(await Store.TryUpdateMachineAsync(moveB, onB.Revision, Payload(moveB)));
    }

    [Fact]
    public async Task Placement_runs_after_admission_in_the_insert_and_its_refusal_writes_nothing()
    {
        var org = await OrgAsync();
        var order = new List<string>();
        var refused = NewMachine(org);

        await Assert.ThrowsAsync<RefusedException>(() => Store.InsertMachineAsync(
            refused,
            _ =>
            {
                order.Add("place");
                throw new RefusedException();
            },
            Payload,
            _ => order.Add("admit")));

        Assert.Equal(["admit", "place"], order);
        Assert.Null(await Store.GetMachineAsync(refused.Id));
    }

    private static NodeRecord Node(string id, string name) => new()
    {
        Id = id,
        Name = name,
        GatewayHosts = ["gw.example"],
        GatewayPortLow = 2100,
        GatewayPortHigh = 2199,
        Vcpu = 8,
        MemoryMib = 16384,
        StorageGib = 100,
        StartedAt = T0,
        HeartbeatAt = T0,
        CaFingerprint = "SHA256:u SHA256:h",
    };

    /// <summary>Every field of a node as text (its gateway hosts are a list, which a record compares by reference).</summary>
    private static string Comparable(NodeRecord node) =>
        node with { GatewayHosts = [] } + " hosts " + string.Join(",", node.GatewayHosts);
}
