using System.Net;

namespace Dedalus.Gateway;

/// <summary>Configuration of an <see cref="SshGateway"/>: an immutable snapshot.</summary>
public sealed record GatewayOptions
{
    /// <summary>Address every machine listener binds (all interfaces by default).</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Any;

    /// <summary>First port of the range machines' ports are drawn from (inclusive).</summary>
    public int PortRangeStart { get; init; } = 2200;

    /// <summary>Last port of the range (inclusive).</summary>
    public int PortRangeEnd { get; init; } = 2999;

    /// <summary>Open connections allowed to one machine; the next one is refused with a line of text.</summary>
    public int MaxConnectionsPerMachine { get; init; } = 64;

    /// <summary>Open connections allowed across the whole gateway.</summary>
    public int MaxConnections { get; init; } = 4096;

    /// <summary>How often a machine with open connections is reported active to the backend. Zero or less disables the periodic report.</summary>
    public TimeSpan ActivityReportInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound of the backend's admission (and wake) decision.</summary>
    public TimeSpan AdmissionTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Upper bound of connecting to the machine's SSH server (<see cref="Dedalus.Machines.Runtime.ISshServerConnector"/>).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// After one direction ended (client half-close, or sshd's output ended), how long the other
    /// direction may go on before the connection is closed.
    /// </summary>
    public TimeSpan HalfCloseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Bytes of the pooled buffer each direction uses while data flows. An idle connection holds
    /// none for client-to-machine (zero-byte socket reads) and 4 KiB for machine-to-client.
    /// </summary>
    public int BufferSize { get; init; } = 64 * 1024;

    /// <summary>Lines of sshd's stderr kept per connection for diagnostics.</summary>
    public int StderrTailLines { get; init; } = 32;

    /// <summary>
    /// Send one human-readable line (RFC 4253 section 4.2 allows lines before the version string)
    /// before closing a refused connection.
    /// </summary>
    public bool SendRefusalLine { get; init; } = true;

    /// <summary>How long a session cut by <see cref="SshGateway.CloseSessionConnectionsAsync"/> stays barred from new logins through this gateway (guards the race with the revocation list).</summary>
    public TimeSpan ClosedSessionRetention { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>TCP keep-alive idle time on client sockets (dead peers are detected and their sshd ended). Zero disables it.</summary>
    public TimeSpan TcpKeepAliveTime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Backlog of each listener.</summary>
    public int ListenBacklog { get; init; } = 512;

    internal void Validate()
    {
        if (PortRangeStart is < 1 or > 65535 || PortRangeEnd is < 1 or > 65535 || PortRangeEnd < PortRangeStart)
        {
            throw new ArgumentException($"invalid gateway port range {PortRangeStart}-{PortRangeEnd}");
        }

        if (MaxConnectionsPerMachine < 1 || MaxConnections < 1)
        {
            throw new ArgumentException("connection limits must be at least 1");
        }

        if (BufferSize < 1024)
        {
            throw new ArgumentException("BufferSize must be at least 1024 bytes");
        }
    }
}
