using Dedalus.Server.Gateway;
using Dedalus.Server.Hosting;

namespace Dedalus.Server.Reconciliation;

/// <summary>
/// Counts the failed attempts to listen on each machine's gateway port and decides what comes next: another attempt
/// after a back-off that starts at <see cref="ServerOptions.GatewayPortRetryDelay"/> and doubles up to ten times it,
/// and a move to a free port of the range once <see cref="ServerOptions.GatewayPortAttempts"/> attempts have failed
/// (at once for a port outside the range, or when no client can know the port yet). An attempt is a kick of the work
/// queue from a one-shot timer on the injected clock, so nothing polls; a pass that comes sooner for another reason may
/// still find the port free, but its failure does not count. Success or deletion forgets the machine.
/// </summary>
public sealed class GatewayPortRecovery(ServerOptions options, MachineWorkQueue queue, TimeProvider timeProvider) : IDisposable
{
    private const int MaxBackoffFactor = 10;
    private readonly Dictionary<string, Trouble> _troubles = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>How many machines have a port that is not theirs, as far as this process knows.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _troubles.Count;
            }
        }
    }

    /// <summary>The back-off after the <paramref name="failures"/>-th counted failure: 1, 2, 4, 8, then 10 times the retry delay.</summary>
    public TimeSpan RetryDelay(int failures) =>
        options.GatewayPortRetryDelay * Math.Min(1 << Math.Clamp(failures - 1, 0, 4), MaxBackoffFactor);

    /// <summary>
    /// Records a failed attempt on the machine's port and schedules the next one. Null when the failure does not count
    /// (a pass that came before the scheduled attempt: that attempt is still to come).
    /// </summary>
    /// <param name="machineId">The machine.</param>
    /// <param name="result">How the attempt failed.</param>
    /// <param name="clientsMayKnowPort">False for a machine that has never run: no session has shown its port, so it moves at once.</param>
    public GatewayPortDecision? Failed(string machineId, PortOpenResult result, bool clientsMayKnowPort)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return null;
            }

            if (_troubles.TryGetValue(machineId, out var previous))
            {
                if (!previous.Due)
                {
                    return null;
                }

                previous.Timer?.Dispose();
            }

            var failures = (previous?.Failures ?? 0) + 1;
            var delay = RetryDelay(failures);
            var trouble = new Trouble(this, machineId, failures);
            _troubles[machineId] = trouble;
            trouble.Timer = timeProvider.CreateTimer(static state => ((Trouble)state!).Fire(), trouble, delay, Timeout.InfiniteTimeSpan);
            var move = failures >= options.GatewayPortAttempts || result == PortOpenResult.OutsideRange || !clientsMayKnowPort;
            return new GatewayPortDecision(failures, move, delay);
        }
    }

    /// <summary>The machine's port is its own (the gateway listens, or it moved): forgets its failures and returns how many there were.</summary>
    public int Succeeded(string machineId) => Forget(machineId);

    /// <summary>Forgets the machine (deleted, or its port is fine) and cancels its pending attempt; returns its counted failures.</summary>
    public int Forget(string machineId)
    {
        lock (_lock)
        {
            if (!_troubles.Remove(machineId, out var trouble))
            {
                return 0;
            }

            trouble.Timer?.Dispose();
            return trouble.Failures;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var trouble in _troubles.Values)
            {
                trouble.Timer?.Dispose();
            }

            _troubles.Clear();
        }
    }

    private void Retry(string machineId) => queue.Kick(machineId);

    /// <summary>One machine's failed attempts and the timer of its next one.</summary>
    private sealed class Trouble(GatewayPortRecovery owner, string machineId, int failures)
    {
        public int Failures { get; } = failures;

        public ITimer? Timer { get; set; }

        /// <summary>Whether the scheduled attempt has come: the next failure counts.</summary>
        public bool Due { get; private set; }

        public void Fire()
        {
            lock (owner._lock)
            {
                if (!owner._troubles.TryGetValue(machineId, out var current) || current != this)
                {
                    return;
                }

                Due = true;
            }

            owner.Retry(machineId);
        }
    }
}
