namespace Dedalus.Gateway;

/// <summary>A gateway operation failed (for example a port could not be bound or the range is exhausted).</summary>
public sealed class GatewayException : Exception
{
    public GatewayException()
    {
    }

    public GatewayException(string message)
        : base(message)
    {
    }

    public GatewayException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public GatewayException(string message, string? machineId, int? port, Exception? innerException = null)
        : this(message, GatewayError.Other, machineId, port, innerException)
    {
    }

    public GatewayException(string message, GatewayError error, string? machineId, int? port, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
        MachineId = machineId;
        Port = port;
    }

    /// <summary>What went wrong, for callers to decide on.</summary>
    public GatewayError Error { get; }

    /// <summary>The machine concerned, when there is one.</summary>
    public string? MachineId { get; }

    /// <summary>The port concerned, when there is one.</summary>
    public int? Port { get; }
}
