namespace Dedalus.Gateway;

/// <summary>What is open right now, for whoever shows it (the control plane's live connections).</summary>
public sealed partial class SshGateway
{
    /// <summary>
    /// The connections bridged to a machine's sshd that have not ended (in their handshake or logged in), of one machine
    /// or of every machine, oldest first. Connections still being identified, admitted or queued are left out: nothing
    /// of the machine runs for them yet, anyone who reaches a port can make them, and the audit records them when they end.
    /// </summary>
    /// <remarks>
    /// Lock-free and cheap: it reads the concurrent connection tables and each connection's counters (a moment's values:
    /// the pumps go on meanwhile). Nothing here waits, so a caller may call it on every tick or request.
    /// </remarks>
    public IReadOnlyList<GatewayConnectionSnapshot> GetConnections(string? machineId = null)
    {
        IEnumerable<GatewayConnection> connections;
        if (machineId is null)
        {
            connections = _connections.Values;
        }
        else if (_listeners.TryGetValue(machineId, out var listener))
        {
            connections = listener.Connections.Values;
        }
        else
        {
            return [];
        }

        var open = new List<GatewayConnectionSnapshot>();
        foreach (var connection in connections)
        {
            if (connection.End is null && connection.Stage is ConnectionStage.Handshaking or ConnectionStage.Authenticated)
            {
                var login = connection.Login;
                open.Add(new GatewayConnectionSnapshot(
                    connection.Id,
                    connection.MachineId,
                    connection.Peer,
                    connection.StartedAt,
                    login?.SessionId,
                    login?.Serial,
                    connection.BytesFromClient,
                    connection.BytesToClient));
            }
        }

        open.Sort(static (a, b) => a.ConnectionId.CompareTo(b.ConnectionId));
        return open;
    }
}
