namespace Dedalus.Server.Gateway;

/// <summary>What came of asking the gateway to listen for a machine on a port (<see cref="IMachinePorts.OpenAsync"/>).</summary>
public enum PortOpenResult
{
    /// <summary>The gateway listens for the machine on the port (or there is no gateway to listen).</summary>
    Listening,

    /// <summary>Another socket holds the port: another process, or another server with an overlapping range.</summary>
    InUse,

    /// <summary>The port is outside the configured range (the range changed since the machine got it).</summary>
    OutsideRange,

    /// <summary>The port cannot be bound for another reason (no permission, an address the host does not have).</summary>
    Unavailable,
}
