using System.Collections.Concurrent;
using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>What the test control plane knows of one machine.</summary>
public enum RuncTestMachineState
{
    Running,
    Sleeping,
    Deleted,
}

/// <summary>
/// A small control plane for the gateway in front of runc machines: admission from a dictionary of
/// machine states (and whether a live session exists), wake = <see cref="IMachineRuntime.StartAsync"/>,
/// audit records kept for assertions.
/// </summary>
public sealed class RuncTestBackend(IMachineRuntime runtime) : IGatewayBackend
{
    private readonly ConcurrentDictionary<string, (RuncTestMachineState State, bool LiveSession)> _machines = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<GatewayConnectionRecord> _records = new();
    private readonly ConcurrentQueue<string> _wakes = new();
    private readonly SemaphoreSlim _recorded = new(0);

    public IReadOnlyCollection<GatewayConnectionRecord> Records => [.. _records];

    public IReadOnlyCollection<string> Wakes => [.. _wakes];

    public void Set(string machineId, RuncTestMachineState state, bool liveSession = true) => _machines[machineId] = (state, liveSession);

    public ValueTask<GatewayAdmission> AdmitAsync(string machineId, CancellationToken cancellationToken)
    {
        if (!_machines.TryGetValue(machineId, out var machine))
        {
            return ValueTask.FromResult(GatewayAdmission.Unknown);
        }

        return ValueTask.FromResult(machine.State switch
        {
            RuncTestMachineState.Running => GatewayAdmission.Running,
            RuncTestMachineState.Deleted => GatewayAdmission.Deleted,
            _ => machine.LiveSession ? GatewayAdmission.SleepingWithLiveSession : GatewayAdmission.SleepingWithoutLiveSession,
        });
    }

    public async ValueTask WakeAsync(string machineId, CancellationToken cancellationToken)
    {
        _wakes.Enqueue(machineId);
        await runtime.StartAsync(machineId, cancellationToken).ConfigureAwait(false);
        _machines.AddOrUpdate(machineId, (RuncTestMachineState.Running, true), (_, m) => (RuncTestMachineState.Running, m.LiveSession));
    }

    public ValueTask RecordConnectionAsync(GatewayConnectionRecord record, CancellationToken cancellationToken)
    {
        _records.Enqueue(record);
        _recorded.Release();
        return ValueTask.CompletedTask;
    }

    public void ReportActivity(string machineId)
    {
    }

    /// <summary>Waits (bounded) for the first record matching <paramref name="predicate"/>.</summary>
    public async Task<GatewayConnectionRecord> WaitForRecordAsync(Func<GatewayConnectionRecord, bool> predicate, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var match = _records.FirstOrDefault(predicate);
            if (match is not null)
            {
                return match;
            }

            try
            {
                await _recorded.WaitAsync(TimeSpan.FromMilliseconds(100), cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no matching connection record; have: {string.Join("; ", _records)}");
            }
        }
    }
}
