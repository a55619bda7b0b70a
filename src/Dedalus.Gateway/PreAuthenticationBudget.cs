using System.Runtime.InteropServices;

namespace Dedalus.Gateway;

/// <summary>
/// The budgets of connections that have not authenticated yet, so that they can never take what authenticated ones need:
/// <list type="bullet">
/// <item>pending connections (accepted, not authenticated) per gateway, per machine and per source. A full gateway or
/// machine budget drops its longest-silent connection (one still waiting for its identification line) to make room, and
/// refuses the newcomer only when every pending connection has identified; a full source budget refuses the newcomer.</item>
/// <item>handshakes (sshd started, not authenticated) per machine and per source. A connection over either waits, first
/// come first served among those that could start, holding nothing but its socket.</item>
/// </list>
/// One lock guards every count and both queues; each operation under it is a few dictionary and list steps.
/// </summary>
internal sealed class PreAuthenticationBudget(GatewayOptions options)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Counts> _machines = new(StringComparer.Ordinal);
    private readonly Dictionary<SourceAddress, Counts> _sources = [];
    private readonly LinkedList<PreAuthenticationEntry> _identifying = new();
    private readonly LinkedList<PreAuthenticationEntry> _waiting = new();
    private int _pending;

    /// <summary>Pending connections across the gateway.</summary>
    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _pending;
            }
        }
    }

    /// <summary>Pending connections of one machine.</summary>
    public int GetPendingCount(string machineId) => Read(machineId, static c => c.Pending);

    /// <summary>Handshakes in progress on one machine.</summary>
    public int GetHandshakeCount(string machineId) => Read(machineId, static c => c.Handshakes);

    /// <summary>Connections of one machine waiting for a handshake slot.</summary>
    public int GetWaitingCount(string machineId) => Read(machineId, static c => c.Waiting);

    /// <summary>
    /// Counts a new connection as pending, or says which budget is full. To make room it may drop a connection that waits
    /// for its identification line: <paramref name="evicted"/>, already marked; the caller wakes it
    /// (<see cref="GatewayConnection.CancelPreAuthentication"/>) once this returns.
    /// </summary>
    public PreAuthenticationAdmission TryEnter(PreAuthenticationEntry entry, out GatewayConnection? evicted)
    {
        evicted = null;
        lock (_lock)
        {
            if (_sources.TryGetValue(entry.Source, out var source) && source.Pending >= options.MaxPendingConnectionsPerSource)
            {
                return PreAuthenticationAdmission.SourceFull;
            }

            if (_machines.TryGetValue(entry.MachineId, out var machine) && machine.Pending >= options.MaxPendingConnectionsPerMachine)
            {
                // Dropping one of the machine's own silent connections frees a gateway slot as well.
                evicted = EvictOldestSilent(entry.MachineId);
                if (evicted is null)
                {
                    return PreAuthenticationAdmission.MachineFull;
                }
            }
            else if (_pending >= options.MaxPendingConnections)
            {
                evicted = EvictOldestSilent(machineId: null);
                if (evicted is null)
                {
                    return PreAuthenticationAdmission.GatewayFull;
                }
            }

            GetOrAdd(_sources, entry.Source).Pending++;
            GetOrAdd(_machines, entry.MachineId).Pending++;
            _pending++;
            entry.HoldsPending = true;
            entry.IdentifyingNode = _identifying.AddLast(entry);
            return PreAuthenticationAdmission.Entered;
        }
    }

    /// <summary>The connection sent its identification line: it can no longer be dropped to make room.</summary>
    public void Identified(PreAuthenticationEntry entry)
    {
        lock (_lock)
        {
            if (entry.IdentifyingNode is { } node)
            {
                _identifying.Remove(node);
                entry.IdentifyingNode = null;
            }
        }
    }

    /// <summary>
    /// Completes when the connection may start its handshake (at once when its machine and its source are under their
    /// handshake budgets and nobody who could start is waiting). Cancelling gives up the place in the queue.
    /// </summary>
    public async ValueTask WaitForHandshakeAsync(PreAuthenticationEntry entry, CancellationToken cancellationToken)
    {
        TaskCompletionSource granted;
        lock (_lock)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!entry.HoldsPending)
            {
                throw new InvalidOperationException("the connection has left the budget");
            }

            var machine = _machines[entry.MachineId];
            var source = _sources[entry.Source];

            // After every release the queue is served, so nobody waiting could start now: starting at once is in order.
            if (CanStart(machine, source))
            {
                Take(entry, machine, source);
                return;
            }

            granted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            entry.Granted = granted;
            entry.WaitingNode = _waiting.AddLast(entry);
            machine.Waiting++;
        }

        try
        {
            await granted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_lock)
            {
                // Granted meanwhile: the slot stays with the entry and goes back in Leave.
                RemoveWaiting(entry);
            }

            throw;
        }
    }

    /// <summary>
    /// The connection authenticated or ended: gives back whatever it holds (pending, handshake, its places in the queues)
    /// and lets waiting connections start. Idempotent.
    /// </summary>
    public void Leave(PreAuthenticationEntry entry)
    {
        lock (_lock)
        {
            if (entry.IdentifyingNode is { } node)
            {
                _identifying.Remove(node);
                entry.IdentifyingNode = null;
            }

            RemoveWaiting(entry);
            var released = false;
            if (entry.HoldsHandshake)
            {
                entry.HoldsHandshake = false;
                _machines[entry.MachineId].Handshakes--;
                _sources[entry.Source].Handshakes--;
                released = true;
            }

            ReleasePending(entry);
            if (released)
            {
                ServeWaiting();
            }
        }
    }

    private static Counts GetOrAdd<TKey>(Dictionary<TKey, Counts> counts, TKey key)
        where TKey : notnull
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, key, out _);
        return slot ??= new Counts();
    }

    private static void Prune<TKey>(Dictionary<TKey, Counts> counts, TKey key)
        where TKey : notnull
    {
        if (counts.TryGetValue(key, out var count) && count is { Pending: 0, Handshakes: 0, Waiting: 0 })
        {
            counts.Remove(key);
        }
    }

    private bool CanStart(Counts machine, Counts source) =>
        machine.Handshakes < options.MaxHandshakesPerMachine && source.Handshakes < options.MaxHandshakesPerSource;

    private static void Take(PreAuthenticationEntry entry, Counts machine, Counts source)
    {
        machine.Handshakes++;
        source.Handshakes++;
        entry.HoldsHandshake = true;
    }

    /// <summary>Grants slots to waiting connections, in order, skipping those whose machine or source is still full.</summary>
    private void ServeWaiting()
    {
        var node = _waiting.First;
        while (node is not null)
        {
            var next = node.Next;
            var entry = node.Value;
            var machine = _machines[entry.MachineId];
            var source = _sources[entry.Source];
            if (CanStart(machine, source))
            {
                _waiting.Remove(node);
                entry.WaitingNode = null;
                machine.Waiting--;
                Take(entry, machine, source);
                entry.Granted?.TrySetResult();
            }

            node = next;
        }
    }

    private void RemoveWaiting(PreAuthenticationEntry entry)
    {
        if (entry.WaitingNode is { } node)
        {
            _waiting.Remove(node);
            entry.WaitingNode = null;
            _machines[entry.MachineId].Waiting--;
        }
    }

    /// <summary>Gives back the entry's pending slot, if it holds one, and forgets counts that dropped to nothing (under the lock).</summary>
    private void ReleasePending(PreAuthenticationEntry entry)
    {
        if (entry.HoldsPending)
        {
            entry.HoldsPending = false;
            _machines[entry.MachineId].Pending--;
            _sources[entry.Source].Pending--;
            _pending--;
        }

        Prune(_machines, entry.MachineId);
        Prune(_sources, entry.Source);
    }

    /// <summary>Drops the oldest connection (of <paramref name="machineId"/>, or any) still waiting for its identification line.</summary>
    private GatewayConnection? EvictOldestSilent(string? machineId)
    {
        var node = _identifying.First;
        while (node is not null)
        {
            var current = node;
            node = node.Next;
            var entry = current.Value;
            if (machineId is not null && !string.Equals(entry.MachineId, machineId, StringComparison.Ordinal))
            {
                continue;
            }

            // Fails when it has just identified; then it is no longer silent and the next one is tried.
            if (entry.Connection.TryMarkEvicted())
            {
                _identifying.Remove(current);
                entry.IdentifyingNode = null;
                ReleasePending(entry);
                return entry.Connection;
            }
        }

        return null;
    }

    private int Read(string machineId, Func<Counts, int> read)
    {
        lock (_lock)
        {
            return _machines.TryGetValue(machineId, out var counts) ? read(counts) : 0;
        }
    }

    /// <summary>The counts of one machine or one source.</summary>
    private sealed class Counts
    {
        public int Pending { get; set; }

        public int Handshakes { get; set; }

        public int Waiting { get; set; }
    }
}
