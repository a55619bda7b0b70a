using Dedalus.Server.Cluster;
using Dedalus.Server.Errors;
using Dedalus.Server.Hosting;
using Dedalus.Server.Quotas;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Server.Tests.Cluster;

/// <summary>Where <see cref="MachinePlacer"/> puts a new machine, on node loads as a store reads them in the insert's transaction.</summary>
public sealed class PlacementTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _data = new();
    private readonly FakeTimeProvider _time = new(Now);
    private readonly LocalNode _local;

    public PlacementTests()
    {
        _local = LocalNode.LoadOrCreate(_data.Path);
    }

    public void Dispose() => _data.Dispose();

    [Fact]
    public void Machines_spread_over_equal_nodes_and_a_bigger_node_takes_more()
    {
        var loads = new List<NodeLoad> { Load(Node(_local.Id, "a", vcpu: 8)), Load(Node("node-b", "b", vcpu: 8)), Load(Node("node-c", "c", vcpu: 16, memoryMib: 64 * 1024)) };
        var chosen = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var placement = Placer().For("org-1", "dm-" + i, 1, 1024, 10)(new Loads(loads));
            chosen.Add(placement.NodeId);
            var at = loads.FindIndex(l => l.Node.Id == placement.NodeId);
            loads[at] = loads[at] with { Machines = loads[at].Machines + 1, Vcpu = loads[at].Vcpu + 1, MemoryMib = loads[at].MemoryMib + 1024, StorageGib = loads[at].StorageGib + 10 };
        }

        // Every node gets machines, and the node twice as big holds the most.
        Assert.Equal(3, chosen.Distinct().Count());
        Assert.True(chosen.Count(n => n == "node-c") > chosen.Count(n => n == "node-b"), string.Join(", ", chosen));
        Assert.Equal(chosen.Count(n => n == _local.Id), chosen.Count(n => n == "node-b"));
    }

    [Fact]
    public void A_node_without_room_or_a_lost_node_gets_nothing_and_this_node_is_never_lost_to_itself()
    {
        var loads = new Loads(
            Load(Node("node-full", "full", vcpu: 2), vcpu: 1.5),
            Load(Node("node-lost", "lost", vcpu: 64, heartbeat: Now - TimeSpan.FromMinutes(1))),
            Load(Node(_local.Id, "me", vcpu: 4, heartbeat: Now - TimeSpan.FromHours(1)), vcpu: 1));

        var placement = Placer().For("org-1", "dm-1", 1, 1024, 10)(loads);

        Assert.Equal(_local.Id, placement.NodeId);
    }

    [Fact]
    public void A_machine_no_node_has_room_for_is_refused_with_each_nodes_free_room_and_nothing_placed()
    {
        var loads = new Loads(Load(Node(_local.Id, "a", vcpu: 4), vcpu: 3), Load(Node("node-b", "b", vcpu: 4, memoryMib: 2048), memoryMib: 1024));

        var refusal = Assert.Throws<DomainException>(() => Placer().For("org-1", "dm-1", 2, 2048, 10)(loads));

        Assert.Equal(ErrorKind.InsufficientCapacity, refusal.Kind);
        Assert.Contains("no node has room for 2 vCPU and 2048 MiB", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("node a has 1 of 4 vCPU", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("node b has 4 of 4 vCPU and 1024 of 2048 MiB free", refusal.Message, StringComparison.Ordinal);
        Assert.Equal("2", refusal.Details!["requested_vcpu"]);
    }

    [Fact]
    public void When_only_storage_stops_it_the_answer_is_insufficient_storage_of_the_node_with_the_most_free()
    {
        // This host backs 100 GiB (measured now); node b measured 50 GiB at its last heartbeat.
        var loads = new Loads(Load(Node(_local.Id, "a"), storageGib: 95), Load(Node("node-b", "b", storageGib: 50), storageGib: 30));

        var refusal = Assert.Throws<DomainException>(() => Placer().For("org-1", "dm-1", 1, 1024, 25)(loads));

        Assert.Equal(ErrorKind.InsufficientStorage, refusal.Kind);
        Assert.Equal("30", refusal.Details!["committed_gib"]);
        Assert.Equal("50", refusal.Details["capacity_gib"]);
        Assert.Contains("as node b measured at", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Full_port_ranges_and_no_live_node_are_unavailable_not_a_refusal_of_the_size()
    {
        var full = new Loads(Load(Node(_local.Id, "a", portLow: 2200, portHigh: 2201), machines: 2));
        var lost = new Loads(Load(Node("node-b", "b", heartbeat: Now - TimeSpan.FromMinutes(5))));

        Assert.Equal(ErrorKind.Unavailable, Assert.Throws<DomainException>(() => Placer().For("org-1", "dm-1", 1, 1024, 10)(full)).Kind);
        Assert.Contains("no free gateway port in 2200-2201", Assert.Throws<DomainException>(() => Placer().For("org-1", "dm-1", 1, 1024, 10)(full)).Message, StringComparison.Ordinal);
        var none = Assert.Throws<DomainException>(() => Placer().For("org-1", "dm-1", 1, 1024, 10)(lost));
        Assert.Equal(ErrorKind.Unavailable, none.Kind);
        Assert.Contains("every node has stopped heartbeating", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Signals_round_trip_as_text_and_garbage_is_not_a_signal()
    {
        var signal = new ClusterSignal(ClusterSignalKind.SessionClosed, "ss-0123", "dm-0199");

        Assert.True(ClusterSignal.TryParse(signal.Format(), out var parsed));
        Assert.Equal(signal, parsed);
        foreach (var garbage in new[] { "", "m", "x ss-1 n", "m  n", "m a b c", "mm a b" })
        {
            Assert.False(ClusterSignal.TryParse(garbage, out _), garbage);
        }
    }

    private MachinePlacer Placer() =>
        new(_local, new ServerOptions { DataDirectory = _data.Path }, new FixedHostResources(2, 4096, new StorageCapacity(100L << 30, 0, 1)), _time, NullLogger<MachinePlacer>.Instance);

    private static NodeLoad Load(NodeRecord node, long machines = 0, double vcpu = 0, long memoryMib = 0, long storageGib = 0) =>
        new(node, machines, vcpu, memoryMib, storageGib);

    private static NodeRecord Node(string id, string name, double vcpu = 8, long memoryMib = 32 * 1024, long storageGib = 100, DateTimeOffset? heartbeat = null, int portLow = 2200, int portHigh = 2299) => new()
    {
        Id = id,
        Name = name,
        GatewayHosts = ["127.0.0.1"],
        GatewayPortLow = portLow,
        GatewayPortHigh = portHigh,
        Vcpu = vcpu,
        MemoryMib = memoryMib,
        StorageGib = storageGib,
        StartedAt = Now - TimeSpan.FromHours(2),
        HeartbeatAt = heartbeat ?? Now,
        CaFingerprint = "SHA256:u SHA256:h",
    };

    /// <summary>Node loads as a store's reader gives them; nothing else is read by placement.</summary>
    private sealed class Loads(params IReadOnlyList<NodeLoad> loads) : IResourceReader
    {
        public IReadOnlyList<NodeLoad> NodeLoads() => loads;

        public IReadOnlyDictionary<string, string> QuotaOverrides(string orgId) => throw new NotSupportedException();

        public OrgMachines Machines(string orgId) => throw new NotSupportedException();

        public long CommittedStorageGib(string nodeId) => throw new NotSupportedException();

        public long LiveSessions(string orgId, DateTimeOffset now) => throw new NotSupportedException();

        public DateTimeOffset? NextSessionExpiry(string orgId, DateTimeOffset now) => throw new NotSupportedException();

        public long LiveExecutions(string orgId) => throw new NotSupportedException();

        public long MachineLiveExecutions(string machineId) => throw new NotSupportedException();
    }
}
