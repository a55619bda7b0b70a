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

    /// <summary>
    /// Authenticated connections allowed to one machine. Checked before sshd is started for a new connection, which is
    /// refused (readably) at the limit; connections not yet authenticated never take these slots (they have the budgets
    /// below). Logins already in their handshake when the limit is reached may still complete, so a machine can briefly
    /// hold up to this plus <see cref="MaxHandshakesPerMachine"/> sshd processes.
    /// </summary>
    public int MaxConnectionsPerMachine { get; init; } = 64;

    /// <summary>
    /// Open connections allowed across the whole gateway, in any state (a bound on sockets and tasks); the next one is
    /// refused at once.
    /// </summary>
    public int MaxConnections { get; init; } = 4096;

    /// <summary>
    /// How long a new connection may take to send its SSH identification line (RFC 4253 section 4.2). Until it has,
    /// nothing is started for it: no admission, no sshd. SSH clients send the line as soon as they connect (OpenSSH,
    /// Go x/crypto/ssh, paramiko, SSH.NET), so a few seconds are plenty even on a slow link; 10 s by default.
    /// </summary>
    public TimeSpan IdentificationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a connection may stay unauthenticated, from accept (the backend's admission and wake do not count), before
    /// the gateway cuts it: 30 s by default, the machines' sshd LoginGraceTime, enforced here because the root of a
    /// machine controls its sshd configuration.
    /// </summary>
    public TimeSpan AuthenticationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Connections not yet authenticated allowed across the gateway. At the limit, the connection that has waited longest
    /// for its identification line is dropped to make room (a real client sends its line at once, so only silent
    /// connections are ever dropped); when there is none, the new connection is refused. 1024 by default: a quarter of
    /// <see cref="MaxConnections"/>, so that authenticated connections always keep most of the gateway.
    /// </summary>
    public int MaxPendingConnections { get; init; } = 1024;

    /// <summary>
    /// Connections not yet authenticated allowed to one machine, with the same drop-the-longest-silent rule. 256 by default:
    /// room for bursts of several clients (a pending connection that has identified costs a few KiB while it waits for a
    /// handshake slot) and well under <see cref="MaxPendingConnections"/>, so that a flood of one machine leaves the others alone.
    /// </summary>
    public int MaxPendingConnectionsPerMachine { get; init; } = 256;

    /// <summary>
    /// Connections not yet authenticated allowed from one source across the gateway (an IPv4 address, or an IPv6 /64,
    /// which one host can fill at will); the next one is refused. 64 by default: a legitimate burst from one host (an
    /// ansible run with many forks, an IDE, a CI runner) queues for handshakes within it, while one address can hold only
    /// a quarter of a machine's pending budget.
    /// </summary>
    public int MaxPendingConnectionsPerSource { get; init; } = 64;

    /// <summary>
    /// Concurrent handshakes (sshd started, not yet authenticated) per machine. Each one is a runc exec and an sshd inside
    /// the machine (about 3 MiB, taken from the machine's own memory) for up to <see cref="AuthenticationTimeout"/>.
    /// Connections over the budget wait (in order, holding nothing but their socket) instead of being refused; a login
    /// takes a few hundred ms, so a burst drains quickly. 8 by default: more than the host's cores can start at once, so
    /// legitimate logins are rarely held back.
    /// </summary>
    public int MaxHandshakesPerMachine { get; init; } = 8;

    /// <summary>
    /// Concurrent handshakes per source (as <see cref="MaxPendingConnectionsPerSource"/> groups them) across the gateway;
    /// over it, the connection waits like one over <see cref="MaxHandshakesPerMachine"/>. 4 by default: half a machine's
    /// budget, so that one address that stalls its handshakes cannot take all of a machine's slots.
    /// </summary>
    public int MaxHandshakesPerSource { get; init; } = 4;

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
    /// Tell a refused client why before closing: one human-readable line (RFC 4253 section 4.2 allows lines before the
    /// version string; OpenSSH shows it with -v), the gateway's own identification line and an unencrypted
    /// SSH_MSG_DISCONNECT whose description the OpenSSH client prints without -v
    /// ("Received disconnect from HOST port P:12: dedalus-gateway: ..."). False closes without a word.
    /// </summary>
    public bool SendRefusalLine { get; init; } = true;

    /// <summary>How long a session cut by <see cref="SshGateway.CloseSessionConnectionsAsync"/> stays barred from new logins through this gateway (guards the race with the revocation list).</summary>
    public TimeSpan ClosedSessionRetention { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>TCP keep-alive idle time on client sockets (dead peers are detected and their sshd ended). Zero disables it.</summary>
    public TimeSpan TcpKeepAliveTime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Backlog of each listener.</summary>
    public int ListenBacklog { get; init; } = 512;

    /// <summary>
    /// Whether the client's KEXINIT is checked (<see cref="SshKexInit"/>) before sshd sees it. Always on; tests turn it off
    /// to show that sshd's log records hold without it.
    /// </summary>
    internal bool CheckKexInit { get; init; } = true;

    internal void Validate()
    {
        if (PortRangeStart is < 1 or > 65535 || PortRangeEnd is < 1 or > 65535 || PortRangeEnd < PortRangeStart)
        {
            throw new ArgumentException($"invalid gateway port range {PortRangeStart}-{PortRangeEnd}");
        }

        if (MaxConnectionsPerMachine < 1 || MaxConnections < 1 || MaxPendingConnections < 1 || MaxPendingConnectionsPerMachine < 1
            || MaxPendingConnectionsPerSource < 1 || MaxHandshakesPerMachine < 1 || MaxHandshakesPerSource < 1)
        {
            throw new ArgumentException("connection limits must be at least 1");
        }

        if (IdentificationTimeout <= TimeSpan.Zero || AuthenticationTimeout <= TimeSpan.Zero
            || IdentificationTimeout > TimeSpan.FromDays(1) || AuthenticationTimeout > TimeSpan.FromDays(1))
        {
            throw new ArgumentException("IdentificationTimeout and AuthenticationTimeout must be positive and at most a day");
        }

        if (BufferSize < 1024)
        {
            throw new ArgumentException("BufferSize must be at least 1024 bytes");
        }
    }
}
