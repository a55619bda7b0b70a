using System.Net;
using Dedalus.Machines.Network;
using Dedalus.Machines.Runc;
using Dedalus.Server.Machines;
using Dedalus.Server.Quotas;

namespace Dedalus.Server.Hosting;

/// <summary>
/// The server's configuration snapshot: the <c>Dedalus</c> section, fed by command-line options, <c>DEDALUS_*</c>
/// variables and appsettings.json (<see cref="ServerConfiguration"/>). Each configurable property is named as its
/// configuration key.
/// </summary>
public sealed record ServerOptions
{
    public const string Section = "Dedalus";

    public static readonly TimeSpan MinSessionTtl = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan MaxSessionTtl = TimeSpan.FromHours(24);
    public static readonly TimeSpan MinConnectionAuditRetention = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxConnectionAuditRetention = TimeSpan.FromDays(3650);
    public const int MaxConnectionAuditPerMachine = 1_000_000;

    /// <summary>Shortest host certificate lifetime: renewal comes at half of it, and the sweep must have time to run.</summary>
    public static readonly TimeSpan MinHostCertificateLifetime = TimeSpan.FromMinutes(5);

    /// <summary>Longest host certificate lifetime: bounds how long a key that leaked from a machine stays good.</summary>
    public static readonly TimeSpan MaxHostCertificateLifetime = TimeSpan.FromHours(24);

    /// <summary>Where the database, CA keys and runtime state live.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>
    /// The CA directory (user CA, host CA master, server secret); null: <c>&lt;data-dir&gt;/ca</c>. Every node of a
    /// cluster is given the same one (a shared file system, or the same files copied to each host).
    /// </summary>
    public string? CaDirectory { get; init; }

    /// <summary>
    /// The PostgreSQL store's Npgsql connection string (from <c>--database</c>, a URL given there already converted); null:
    /// SQLite in <see cref="DataDirectory"/>. It may hold a password: log <see cref="StoreFactory.Describe"/> instead.
    /// </summary>
    public string? Database { get; init; }

    /// <summary>The HTTP API's <c>HOST:PORT</c> (or a URL); null when ASP.NET's <c>--urls</c> decides.</summary>
    public string? Listen { get; init; } = "127.0.0.1:8080";

    /// <summary>Host names clients use to reach the gateway; the first is the session <c>endpoint</c>.</summary>
    public IReadOnlyList<string> GatewayHost { get; init; } = ["localhost"];

    /// <summary>The range each machine's stable gateway port comes from.</summary>
    public PortRange GatewayPorts { get; init; } = new(22000, 22999);

    /// <summary>Address the gateway listens on.</summary>
    public string GatewayBind { get; init; } = "0.0.0.0";

    /// <summary>Runs the TCP gateway in this process.</summary>
    public bool Gateway { get; init; } = true;

    /// <summary>known_hosts pattern of <c>host_trust</c>; derived from <see cref="GatewayHost"/> when unset.</summary>
    public string? HostPattern { get; init; }

    /// <summary>The machine engine: <c>runc</c> (default and, so far, the only one).</summary>
    public string Runtime { get; init; } = "runc";

    /// <summary>Lifetime of an SSH session and its certificate.</summary>
    public TimeSpan SessionTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Largest <c>vcpu</c> a machine may ask for.</summary>
    public double MaxVcpu { get; init; } = 64;

    /// <summary>Create a dev org and key on first start and write them for the CLI.</summary>
    public bool Dev { get; init; }

    /// <summary>The absolute lifetime of a web console browser session: signing in again is due after it, however busy the session.</summary>
    public TimeSpan ConsoleSessionLifetime { get; init; } = TimeSpan.FromHours(12);

    /// <summary>A web console browser session not used for this long ends (a forgotten tab does not stay signed in).</summary>
    public TimeSpan ConsoleIdleTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How often autosleep, session expiry and retention run.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the audit row of a finished gateway connection is kept (<c>ssh_connections</c>).</summary>
    public TimeSpan ConnectionAuditRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Most audit rows kept per machine, the newest: anyone who can reach a gateway port can open connections, and within
    /// the retention this is what bounds the rows a flood of them leaves on the host's disk.
    /// </summary>
    public int ConnectionAuditPerMachine { get; init; } = 10_000;

    /// <summary>Back-off before the n-th retry of a failing runtime step: n times this.</summary>
    public TimeSpan ReconcileRetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the reconciler tries a failing runtime step before it marks the machine failed.</summary>
    public int ReconcileAttempts { get; init; } = 3;

    /// <summary>
    /// Back-off before the first retry of a machine's gateway port that another process holds; each later retry waits
    /// twice as long as the one before, up to ten times this.
    /// </summary>
    public TimeSpan GatewayPortRetryDelay { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How many attempts to listen on a machine's gateway port fail before the machine moves to a free port of the range.</summary>
    public int GatewayPortAttempts { get; init; } = 3;

    /// <summary>
    /// How long a machine's host certificate is valid. A new host key and certificate are installed before every wake
    /// and renewed while the machine runs once less than half of this is left; a key read from inside a machine (its
    /// root can) therefore verifies for at most this long after the machine sleeps, is destroyed or renews.
    /// </summary>
    public TimeSpan HostCertificateLifetime { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Back-dating of certificate validity for clock skew.</summary>
    public TimeSpan CertificateBackdate { get; init; } = TimeSpan.FromSeconds(60);

    public string SshUsername { get; init; } = "machine";

    /// <summary>Default per-org quota on machines that are not destroyed; an org's override beats it (<see cref="QuotaCatalog"/>).</summary>
    public QuotaLimit QuotaMachines { get; init; } = QuotaCatalog.Machines.Default;

    /// <summary>Default per-org quota on the vcpu of its machines.</summary>
    public QuotaLimit QuotaVcpu { get; init; } = QuotaCatalog.Vcpu.Default;

    /// <summary>Default per-org quota on the memory_mib of its machines.</summary>
    public QuotaLimit QuotaMemoryMib { get; init; } = QuotaCatalog.MemoryMib.Default;

    /// <summary>Default per-org quota on the storage_gib of its machines.</summary>
    public QuotaLimit QuotaStorageGib { get; init; } = QuotaCatalog.StorageGib.Default;

    /// <summary>Default per-org quota on live SSH sessions.</summary>
    public QuotaLimit QuotaSessions { get; init; } = QuotaCatalog.Sessions.Default;

    /// <summary>Default per-org quota on live executions.</summary>
    public QuotaLimit QuotaExecutions { get; init; } = QuotaCatalog.Executions.Default;

    /// <summary>Most executions one machine runs at once (waking, queued or running); one more is a 429.</summary>
    public int ExecutionsPerMachine { get; init; } = 16;

    /// <summary>Bytes of each stream (stdout, stderr) of an execution kept in the store; the rest is counted, not kept.</summary>
    public int ExecutionOutputBytes { get; init; } = 1024 * 1024;

    /// <summary>How long a finished execution (its output and events) is kept.</summary>
    public TimeSpan ExecutionRetention { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Most finished executions kept per machine (the newest), within the retention.</summary>
    public int ExecutionsKeptPerMachine { get; init; } = 1000;

    /// <summary>After <c>timeout_ms</c>, how long the process tree has between SIGTERM and SIGKILL.</summary>
    public TimeSpan ExecutionKillGrace { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a log read token (<c>logs/token</c>) works.</summary>
    public TimeSpan ExecutionLogTokenLifetime { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a destroyed machine stays in the list and answers GET (phase <c>destroyed</c>); then it is gone (404).</summary>
    public TimeSpan DestroyedMachineRetention { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A reboot without <c>force</c>: how long the machine's processes have between SIGTERM and SIGKILL.</summary>
    public TimeSpan RebootGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>RAM autoresizing raises a machine's memory up to this many times its <c>memory_mib</c> (and never past the largest size).</summary>
    public double AutoresizeCeilingFactor { get; init; } = 2.0;

    /// <summary>How often RAM autoresizing reads the memory use of running machines.</summary>
    public TimeSpan AutoresizeInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long an SSH session create on a machine that must wake holds its answer while the wake completes, so that
    /// a client which polls finds the session ready in the first answer (a wake takes well under a second here).
    /// </summary>
    public TimeSpan SessionWakeHold { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Storage the machines may have committed in all, per byte the disk can hold (<see cref="StorageCapacity"/>).</summary>
    public double StorageOvercommit { get; init; } = 1.0;

    /// <summary>The subnet machine addresses come from; null: machine networking off (loopback only).</summary>
    public IPNetwork? MachineNetwork { get; init; } = MachineNetworkOptions.DefaultSubnet;

    /// <summary>
    /// The host uids machines get a range of 65536 each from (root inside = the range's first); null (<c>shared</c>):
    /// every machine in the one shared range, as before per-machine ranges.
    /// </summary>
    public MachineUidPool? MachineUids { get; init; } = MachineUidPool.Default;

    /// <summary>Ranges every machine may reach although <see cref="EgressDenyDefault"/> names them.</summary>
    public IReadOnlyList<IPNetwork> EgressAllow { get; init; } = [];

    /// <summary>Ranges refused to every machine unless its own <c>allow_cidrs</c> name them.</summary>
    public IReadOnlyList<IPNetwork> EgressDenyDefault { get; init; } = MachineNetworkOptions.StandardDenyCidrs;

    /// <summary>
    /// How the gateway reaches a machine's sshd: <c>listening</c> (one sshd per machine on its network address; the
    /// default with machine networking) or <c>inetd</c> (<c>sshd -i</c> through <c>runc exec</c> per connection).
    /// </summary>
    public string GatewaySshd { get; init; } = GatewaySshdModes.Listening;

    /// <summary>Resolvers the DNS forwarder asks; empty: the host's own.</summary>
    public IReadOnlyList<IPAddress> DnsUpstream { get; init; } = [];

    /// <summary>This node's name in the node list (for people; ids tell nodes apart).</summary>
    public string NodeName { get; init; } = DefaultNodeName();

    /// <summary>vCPUs placement may commit to machines on this node; null: 4 per CPU of the host (the default vcpu quota's ratio).</summary>
    public double? NodeVcpu { get; init; }

    /// <summary>MiB placement may commit to machines on this node; null: twice the host's memory (the default memory quota's ratio).</summary>
    public long? NodeMemoryMib { get; init; }

    /// <summary>How often this node stamps itself alive in the store.</summary>
    public TimeSpan NodeHeartbeatInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>After this long without a heartbeat a node is lost: its machines read failed (<c>node_lost</c>) and nothing is placed on it.</summary>
    public TimeSpan NodeLostAfter { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Serves <c>/metrics</c> (Prometheus text) on the API listener, to the clients <see cref="MetricsAllow"/> admits.</summary>
    public bool Metrics { get; init; } = true;

    /// <summary>Ranges whose clients may read <c>/metrics</c>; empty: none may. The default is loopback only.</summary>
    public IReadOnlyList<IPNetwork> MetricsAllow { get; init; } = Telemetry.MetricsAccess.DefaultAllowed;

    /// <summary>How log lines are written (<see cref="LogFormats"/>); null: <c>systemd</c> under systemd, else <c>simple</c>.</summary>
    public string? LogFormat { get; init; }

    /// <summary>The server's default of <paramref name="quota"/>.</summary>
    public QuotaLimit DefaultQuota(Quota quota) => quota switch
    {
        Quota.Machines => QuotaMachines,
        Quota.Vcpu => QuotaVcpu,
        Quota.MemoryMib => QuotaMemoryMib,
        Quota.StorageGib => QuotaStorageGib,
        Quota.Sessions => QuotaSessions,
        _ => QuotaExecutions,
    };

    private static string DefaultNodeName()
    {
        var name = Environment.MachineName;
        return name.Length is >= 1 and <= 63 ? name : "node";
    }

    /// <summary>Bounds of machine sizes.</summary>
    public MachineLimits Limits => new() { MaxVcpu = MaxVcpu };

    /// <summary>The effective host pattern: each gateway name, plain and with any port (<c>[name]:*</c>, as ssh looks up non-22 ports).</summary>
    public string EffectiveHostPattern => HostPatternFor(GatewayHost);

    /// <summary>The host pattern of a node whose gateway names are <paramref name="gatewayHosts"/>: <see cref="HostPattern"/> when set, for every node.</summary>
    public string HostPatternFor(IReadOnlyList<string> gatewayHosts) =>
        HostPattern ?? string.Join(',', gatewayHosts.SelectMany(h => new[] { h, "[" + h + "]:*" }));
}

/// <summary>Values of <see cref="ServerOptions.GatewaySshd"/>.</summary>
public static class GatewaySshdModes
{
    /// <summary>One sshd per running machine, listening on its network address; each connection a TCP connection.</summary>
    public const string Listening = "listening";

    /// <summary><c>sshd -i</c> started in the machine per connection (<c>runc exec</c>).</summary>
    public const string Inetd = "inetd";
}

/// <summary>Values of <see cref="ServerOptions.LogFormat"/>.</summary>
public static class LogFormats
{
    /// <summary>ASP.NET's console lines for people at a terminal (colours when the output is one).</summary>
    public const string Simple = "simple";

    /// <summary>One line per entry with a syslog priority prefix (<c>&lt;6&gt;</c>) and no colours: what journald reads.</summary>
    public const string Systemd = "systemd";

    /// <summary>One JSON object per line: timestamp, level, category, event id, message, state and scopes.</summary>
    public const string Json = "json";
}
