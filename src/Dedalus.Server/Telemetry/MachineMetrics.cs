using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Hosting;
using Dedalus.Server.Store;

namespace Dedalus.Server.Telemetry;

/// <summary>
/// Machines of this node by phase, and how long wakes take (sleeping to running).
/// <para>
/// The phase counts are what the maintenance sweep last saw (every <see cref="ServerOptions.SweepInterval"/>): it
/// already lists the live machines, so a scrape costs no store read. They are per node, labelled with the node's id and
/// name: on a cluster every node reports the machines placed on it, and a sum across nodes is the cluster's count.
/// Every phase is reported, zero included, so a series never vanishes when its last machine leaves the phase.
/// </para>
/// </summary>
public sealed class MachineMetrics
{
    private static readonly string[] Phases =
    [
        MachinePhases.Accepted, MachinePhases.PlacementPending, MachinePhases.Starting, MachinePhases.Running, MachinePhases.Stopping,
        MachinePhases.Sleeping, MachinePhases.Destroying, MachinePhases.Destroyed, MachinePhases.Failed,
    ];

    private readonly Histogram<double> _wakeDuration;
    private readonly ConcurrentDictionary<string, long> _wakesStarted = new(StringComparer.Ordinal);
    private readonly KeyValuePair<string, object?> _nodeId;
    private readonly KeyValuePair<string, object?> _nodeName;
    private volatile FrozenDictionary<string, int> _phaseCounts = FrozenDictionary<string, int>.Empty;

    public MachineMetrics(IMeterFactory meterFactory, LocalNode local, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(options);
        _nodeId = new("dedalus.node.id", local.Id);
        _nodeName = new("dedalus.node.name", options.NodeName);
        var meter = meterFactory.Create(DedalusMeters.Machines);
        meter.CreateObservableGauge("dedalus.machine.count", ObservePhases, "{machine}", "Machines placed on this node by phase, as of the last maintenance sweep");
        _wakeDuration = meter.CreateHistogram(
            "dedalus.machine.wake.duration", "s", "Time from a sleeping machine starting to wake to it running", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DedalusMeters.WaitBuckets });
    }

    /// <summary>Records the phases of this node's <paramref name="machines"/> (the sweep's list of live machines).</summary>
    public void UpdatePhases(IEnumerable<MachineRecord> machines)
    {
        ArgumentNullException.ThrowIfNull(machines);
        _phaseCounts = machines.CountBy(m => m.Phase, StringComparer.Ordinal).ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>A phase transition the reconciler wrote: times sleeping -> starting -> running; any other transition ends the timing.</summary>
    public void PhaseChanged(string machineId, string from, string to)
    {
        if (from == MachinePhases.Sleeping && to == MachinePhases.Starting)
        {
            // The wall clock, not the injected one: a wake is real work.
            _wakesStarted[machineId] = Stopwatch.GetTimestamp();
        }
        else if (_wakesStarted.TryRemove(machineId, out var started) && from == MachinePhases.Starting && to == MachinePhases.Running)
        {
            _wakeDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, _nodeId, _nodeName);
        }
    }

    /// <summary>The machine's wake (if any) ended without it running (it failed).</summary>
    public void WakeAbandoned(string machineId) => _wakesStarted.TryRemove(machineId, out _);

    private IEnumerable<Measurement<int>> ObservePhases()
    {
        var counts = _phaseCounts;
        foreach (var phase in Phases)
        {
            yield return new Measurement<int>(counts.GetValueOrDefault(phase), new("dedalus.machine.phase", phase), _nodeId, _nodeName);
        }
    }
}
