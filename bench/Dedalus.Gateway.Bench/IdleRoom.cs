namespace Dedalus.Gateway.Bench;

/// <summary>Gateway options for the idle phase, whose connections reach sshd and never log in.</summary>
internal static class IdleRoom
{
    /// <summary>
    /// Room for <paramref name="connections"/> connections that never log in: every budget above them (the default
    /// budgets would queue them behind a few handshakes) and no grace period that would cut them during the phase.
    /// </summary>
    public static GatewayOptions WithRoomFor(this GatewayOptions options, int connections) => options with
    {
        MaxConnectionsPerMachine = connections + 100,
        MaxConnections = connections + 100,
        MaxPendingConnections = connections + 100,
        MaxPendingConnectionsPerMachine = connections + 100,
        MaxPendingConnectionsPerSource = connections + 100,
        MaxHandshakesPerMachine = connections + 100,
        MaxHandshakesPerSource = connections + 100,
        AuthenticationTimeout = TimeSpan.FromMinutes(10),
    };
}
