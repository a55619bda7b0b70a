using System.Collections.Concurrent;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>An <see cref="IGatewayBackend"/> that answers from a table and records every call.</summary>
public sealed class RecordingBackend : IGatewayBackend
{
    private readonly ConcurrentDictionary<string, GatewayAdmission> _admissions = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<GatewayConnectionRecord> _records = new();
    private readonly ConcurrentDictionary<string, int> _activity = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _wakes = new();
    private readonly SemaphoreSlim _recorded = new(0);

    /// <summary>Called by <see cref="WakeAsync"/> (the test makes the machine run).</summary>
    public Func<string, Task>? OnWake { get; set; }

    public IReadOnlyCollection<GatewayConnectionRecord> Records => [.. _records];

    public IReadOnlyCollection<string> Wakes => [.. _wakes];

    public void Set(string machineId, GatewayAdmission admission) => _admissions[machineId] = admission;

    public int ActivityReports(string machineId) => _activity.TryGetValue(machineId, out var count) ? count : 0;

    public ValueTask<GatewayAdmission> AdmitAsync(string machineId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_admissions.TryGetValue(machineId, out var admission) ? admission : GatewayAdmission.Unknown);

    public async ValueTask WakeAsync(string machineId, CancellationToken cancellationToken)
    {
        _wakes.Enqueue(machineId);
        _admissions[machineId] = GatewayAdmission.Running;
        if (OnWake is not null)
        {
            await OnWake(machineId);
        }
    }

    public ValueTask RecordConnectionAsync(GatewayConnectionRecord record, CancellationToken cancellationToken)
    {
        _records.Enqueue(record);
        _recorded.Release();
        return ValueTask.CompletedTask;
    }

    public void ReportActivity(string machineId) => _activity.AddOrUpdate(machineId, 1, (_, count) => count + 1);

    /// <summary>Waits (bounded) for the first record matching <paramref name="predicate"/>.</summary>
    public async Task<GatewayConnectionRecord> WaitForRecordAsync(Func<GatewayConnectionRecord, bool> predicate, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var match = _records.FirstOrDefault(predicate);
            if (match is not null)
            {
                return match;
            }

            try
            {
                await _recorded.WaitAsync(TimeSpan.FromMilliseconds(100), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no matching connection record; have: {string.Join("; ", _records)}");
            }
        }
    }
}
