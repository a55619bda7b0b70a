namespace Dedalus.Gateway;

/// <summary>The gateway counters a connection is counted in, each released once (<see cref="GatewayConnection.TryRelease"/>).</summary>
[Flags]
internal enum ConnectionSlots
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>The gateway-wide count (<see cref="GatewayOptions.MaxConnections"/>).</summary>
    Total = 1,

    /// <summary>The machine's open count (<see cref="SshGateway.GetOpenConnectionCount"/>): identified, not ended.</summary>
    Open = 2,
}
