namespace Dedalus.Gateway;

/// <summary>Cutting live connections: by session (deleted session), by machine.</summary>
public sealed partial class SshGateway
{
    /// <summary>
    /// Cuts every live connection that logged in with <paramref name="sessionId"/> (kills its sshd,
    /// resets its socket) and bars the session from new logins through this gateway for
    /// <see cref="GatewayOptions.ClosedSessionRetention"/> (the KRL bars it for good). Completes
    /// when the cut connections are torn down, within about a second.
    /// </summary>
    /// <returns>How many connections were cut.</returns>
    public async Task<int> CloseSessionConnectionsAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var now = _timeProvider.GetUtcNow();
        PruneClosedSessions(now);
        _closedSessions[sessionId] = now;

        var cut = new List<GatewayConnection>();
        foreach (var connection in _connections.Values)
        {
            if (string.Equals(connection.SessionId, sessionId, StringComparison.Ordinal))
            {
                connection.Cut(GatewayConnectionEnd.SessionClosed);
                cut.Add(connection);
            }
        }

        if (cut.Count > 0)
        {
            GatewayLog.SessionConnectionsClosed(_logger, sessionId, cut.Count);
            await WhenTornDownAsync(cut, cancellationToken).ConfigureAwait(false);
        }

        return cut.Count;
    }

    /// <summary>Cuts every live connection to the machine (the listener stays open); for sleep or delete.</summary>
    /// <returns>How many connections were cut.</returns>
    public int CloseMachineConnections(string machineId)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineId);
        if (!_listeners.TryGetValue(machineId, out var listener))
        {
            return 0;
        }

        var count = 0;
        foreach (var connection in listener.Connections.Values)
        {
            connection.Cut(GatewayConnectionEnd.GatewayClosed);
            count++;
        }

        if (count > 0)
        {
            GatewayLog.MachineConnectionsClosed(_logger, machineId, count);
        }

        return count;
    }

    private async Task WhenTornDownAsync(List<GatewayConnection> connections, CancellationToken cancellationToken)
    {
        var all = Task.WhenAll(connections.Select(c => c.Completion));
        try
        {
            await all.WaitAsync(TimeSpan.FromSeconds(1), _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Sockets are reset and sshd killed already; only the bookkeeping is late.
        }
    }

    private void PruneClosedSessions(DateTimeOffset now)
    {
        foreach (var (sessionId, closedAt) in _closedSessions)
        {
            if (now - closedAt > _options.ClosedSessionRetention)
            {
                _closedSessions.TryRemove(sessionId, out _);
            }
        }
    }
}
