using System.Diagnostics.Metrics;
using Dedalus.Server.Reconciliation;

namespace Dedalus.Server.Telemetry;

/// <summary>
/// The reconciler's load and trouble: kicks waiting in the <see cref="MachineWorkQueue"/>, passes over a machine, and
/// errors by kind (<c>runtime_retry</c>: a runtime step failed and is retried; <c>runtime_failed</c>: the machine was
/// marked failed; <c>store_unavailable</c>: the pass is retried once the store answers; <c>crash</c>: a bug).
/// </summary>
public sealed class ReconcilerMetrics
{
    public const string RuntimeRetry = "runtime_retry";
    public const string RuntimeFailed = "runtime_failed";
    public const string StoreUnavailable = "store_unavailable";
    public const string Crash = "crash";

    private readonly Counter<long> _passes;
    private readonly Counter<long> _errors;

    public ReconcilerMetrics(IMeterFactory meterFactory, MachineWorkQueue queue)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(queue);
        var meter = meterFactory.Create(DedalusMeters.Reconciler);
        meter.CreateObservableGauge("dedalus.reconciler.queue.depth", () => queue.Depth, "{kick}", "Kicks queued for the reconciler and not yet handled");
        _passes = meter.CreateCounter<long>("dedalus.reconciler.passes", "{pass}", "Reconciler passes over a machine");
        _errors = meter.CreateCounter<long>("dedalus.reconciler.errors", "{error}", "Reconciler errors by kind (error.type)");
    }

    public void Pass() => _passes.Add(1);

    /// <summary>An error of <paramref name="kind"/> (one of this type's constants).</summary>
    public void Error(string kind) => _errors.Add(1, new KeyValuePair<string, object?>("error.type", kind));
}
