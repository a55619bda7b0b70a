using System.Collections.Concurrent;
using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>
/// The control plane for a gateway under test: admission from a table the test sets, wakes through
/// <see cref="OnWake"/> (which makes the machine run: a host sshd marked running, a runc machine started), and
/// every audit record and activity report kept for assertions.
/// </summary>
public sealed class RecordingBackend : IGatewayBackend
{
    private readonly ConcurrentDictionary<string, GatewayAdmission> _admissions = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<GatewayConnectionRecord> _records = new();
    private readonly ConcurrentDictionary<string, int> _activity = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _wakes = new();
    private readonly SemaphoreSlim _recorded = new(0);
    private int _admissionCount;

    /// <summary>A backend whose wakes start the machine in <paramref name="runtime"/>.</summary>
    public static RecordingBackend WakingThrough(IMachineRuntime runtime) => new() { OnWake = runtime.StartAsync };

    /// <summary>Called by <see cref="WakeAsync"/> to make the machine run; once it returns, the machine is admitted as running.</summary>
    public Func<string, CancellationToken, Task>? OnWake { get; set; }

    public IReadOnlyCollection<GatewayConnectionRecord> Records => [.. _records];

    public IReadOnlyCollection<string> Wakes => [.. _wakes];

    public void Set(string machineId, GatewayAdmission admission) => _admissions[machineId] = admission;

    public int ActivityReports(string machineId) => _activity.TryGetValue(machineId, out var count) ? count : 0;

    /// <summary>How many admissions the gateway asked for.</summary>
    public int AdmissionCount => Volatile.Read(ref _admissionCount);

    public ValueTask<GatewayAdmission> AdmitAsync(string machineId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _admissionCount);
        return ValueTask.FromResult(_admissions.TryGetValue(machineId, out var admission) ? admission : GatewayAdmission.Unknown);
    }

    public async ValueTask WakeAsync(string machineId, CancellationToken cancellationToken)
    {
        _wakes.Enqueue(machineId);
        if (OnWake is not null)
        {
            await OnWake(machineId, cancellationToken).ConfigureAwait(false);
        }

        _admissions[machineId] = GatewayAdmission.Running;
    }

    public ValueTask RecordConnectionAsync(GatewayConnectionRecord record, CancellationToken cancellationToken)
    {
        _records.Enqueue(record);
        _recorded.Release();
        return ValueTask.CompletedTask;
    }

    public void ReportActivity(string machineId) => _activity.AddOrUpdate(machineId, 1, (_, count) => count + 1);

    /// <summary>Waits (bounded, 30 s unless told) for the first record matching <paramref name="predicate"/>.</summary>
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
                // Another look every 100 ms as well: a second waiter may have taken the signal of our record.
                await _recorded.WaitAsync(TimeSpan.FromMilliseconds(100), cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no matching connection record; have: {string.Join("; ", _records.Select(r => $"{r} with sshd stderr [{string.Join(" | ", r.SshdStderrTail)}]"))}");
            }
        }
    }
}
