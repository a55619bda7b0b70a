using System.Globalization;
using System.Net;
using Dedalus.Machines.Runc;
using Dedalus.Server.Machines;
using Dedalus.Server.Quotas;

namespace Dedalus.Server.Hosting;

/// <summary>
/// The settings of <c>dedalus-server</c> and how they are read: command-line options beat <c>DEDALUS_*</c> variables,
/// which beat the <c>Dedalus</c> section of appsettings.json. <see cref="Read"/> validates everything at once and
/// reports every bad value, before anything is created on disk.
/// </summary>
public static class ServerConfiguration
{
    public static readonly IReadOnlyList<ServerSetting> Settings =
    [
        new("DataDirectory", "--data-dir", "DEDALUS_DATA_DIR", "DIR",
            $"Database, CA keys and machine state; made 0711 [default: {DefaultDataDirectory()}]"),
        new("CaDirectory", "--ca-dir", "DEDALUS_CA_DIR", "DIR",
            "The SSH CAs' directory (0700); every node sharing a database must have the same one [default: DATA-DIR/ca]"),
        new("Database", "--database", "DEDALUS_DATABASE", "URL|sqlite",
            "The store: sqlite (dedalus.db in the data directory), or PostgreSQL as a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL " +
            "or an Npgsql connection string (Host=...;Database=...;Username=...); CA keys and machine state stay in the data directory [default: sqlite]"),
        new("Listen", "--listen", "DEDALUS_LISTEN", "HOST:PORT", "Address of the HTTP API [default: 127.0.0.1:8080]"),
        new("GatewayHost", "--gateway-host", "DEDALUS_GATEWAY_HOST", "NAME[,NAME...]",
            "Names clients use for the SSH gateway; the first is each session's endpoint [default: localhost]"),
        new("GatewayPorts", "--gateway-ports", "DEDALUS_GATEWAY_PORTS", "LO-HI", "One stable gateway port per machine from this range [default: 22000-22999]"),
        new("GatewayBind", "--gateway-bind", "DEDALUS_GATEWAY_BIND", "ADDR", "IP address the gateway listens on [default: 0.0.0.0]"),
        new("Gateway", "--gateway", "DEDALUS_GATEWAY", "true|false", "Run the SSH gateway in this process [default: true]", IsSwitch: true),
        new("HostPattern", "--host-pattern", "DEDALUS_HOST_PATTERN", "PATTERN",
            "known_hosts pattern of each session's host_trust [default: each gateway name, plain and as [name]:*]"),
        new("Runtime", "--runtime", "DEDALUS_RUNTIME", "runc", "The machine engine [default: runc, the only one so far]"),
        new("SessionTtl", "--session-ttl", "DEDALUS_SESSION_TTL", "DURATION",
            "Session and certificate lifetime, 60 s to 24 h: 90s, 15m, 1h or 01:00:00 [default: 1h]"),
        new("MaxVcpu", "--max-vcpu", "DEDALUS_MAX_VCPU", "N", "Largest vcpu a machine may ask for [default: 64]"),
        new("Dev", "--dev", "DEDALUS_DEV", "true|false",
            "Create a dev org and API key on first start and write them to ~/.config/dedalus/dev.env for the CLI", IsSwitch: true),
        new("ConsoleSessionLifetime", null, "DEDALUS_CONSOLE_SESSION_LIFETIME", "DURATION",
            "Longest life of a web console browser session, however busy, 5 min to 30 days: 12h, 90m or 12:00:00 [default: 12h]"),
        new("ConsoleIdleTimeout", null, "DEDALUS_CONSOLE_IDLE_TIMEOUT", "DURATION",
            "A web console browser session unused this long ends, 1 min to 30 days, at most the session lifetime [default: 1h]"),
        new("SweepInterval", null, null, "TIMESPAN", "How often autosleep, session expiry and retention run, 10 ms to 45 days [default: 00:00:05]"),
        new("ConnectionAuditRetention", null, null, "TIMESPAN",
            "How long a finished gateway connection's audit row is kept, 1 h to 3650 days [default: 30.00:00:00]"),
        new("ConnectionAuditPerMachine", null, null, "N",
            "Most gateway connection audit rows kept per machine (the newest), 1 to 1000000 [default: 10000]"),
        new("ReconcileRetryDelay", null, null, "TIMESPAN", "Back-off step between retries of a failing runtime step, 0 to 5 min [default: 00:00:00.5]"),
        new("GatewayPortRetryDelay", null, null, "TIMESPAN",
            "First back-off before retrying a gateway port another process holds, doubling up to 10 times it; 10 ms to 5 min [default: 00:00:03]"),
        new("GatewayPortAttempts", null, null, "N", "Failed attempts on a held gateway port before its machine moves to a free port, 1 to 1000 [default: 3]"),
        new("HostCertificateLifetime", null, null, "DURATION",
            "Lifetime of a machine's host certificate (a new one at every wake, renewed at half-life while running), 5 min to 24 h: 30m, 2h or 00:30:00 [default: 30m]"),
        new("ExecutionsPerMachine", null, null, "N", "Most executions one machine runs at once; one more is a 429, 1 to 1000 [default: 16]"),
        new("ExecutionOutputBytes", null, null, "BYTES",
            "Bytes of each output stream of an execution kept (the rest is counted, not kept), 1024 to 67108864 [default: 1048576]"),
        new("ExecutionRetention", null, null, "TIMESPAN", "How long a finished execution and its output are kept, 1 min to 365 days [default: 1.00:00:00]"),
        new("ExecutionsKeptPerMachine", null, null, "N", "Most finished executions kept per machine (the newest), 1 to 1000000 [default: 1000]"),
        new("ExecutionKillGrace", null, null, "TIMESPAN", "Time between SIGTERM and SIGKILL when an execution times out, 0 to 5 min [default: 00:00:02]"),
        new("ExecutionLogTokenLifetime", null, null, "TIMESPAN", "How long an execution's log read token works, 1 s to 24 h [default: 00:15:00]"),
        new("DestroyedMachineRetention", null, null, "TIMESPAN",
            "How long a destroyed machine stays listed (phase destroyed) before it is gone (404), 0 to 30 days [default: 01:00:00]"),
        new("RebootGrace", null, null, "TIMESPAN", "Time a reboot without force gives the machine's processes between SIGTERM and SIGKILL, 0 to 5 min [default: 00:00:10]"),
        new("AutoresizeCeilingFactor", null, null, "RATIO",
            "RAM autoresizing raises a machine's memory up to this many times its memory_mib (never past the largest size), 1 to 16 [default: 2]"),
        new("AutoresizeInterval", null, null, "TIMESPAN", "How often RAM autoresizing reads running machines' memory use, 50 ms to 1 min [default: 00:00:00.25]"),
        new("SessionWakeHold", null, null, "TIMESPAN",
            "How long an SSH session create on a sleeping machine holds its answer while the machine wakes, 0 to 30 s [default: 00:00:02]"),
        .. QuotaCatalog.All.Select(q => new ServerSetting(q.SettingKey, q.Flag, q.Environment, q.PercentOf is null ? "N|unlimited" : "N|P%|unlimited",
            $"Default per-org quota on {QuotaDescription(q)}; `dedalus-server quota set` overrides it per org [default: {q.Default}]")),
        new("MachineNetwork", "--machine-network", "DEDALUS_MACHINE_NETWORK", "CIDR|off",
            "IPv4 subnet of the machines' addresses (/8 to /28; its first address is the host side); off: machines get loopback only [default: 10.207.0.0/16]"),
        new("MachineUids", "--machine-uids", "DEDALUS_MACHINE_UIDS", "FIRST-LAST|shared",
            "Host uids each machine gets a range of 65536 of (two machines never share one; FIRST a multiple of 65536); shared: every machine in " +
            "one range (100000-165535), only for file systems without idmapped mounts [default: 1073741824-1610612735]"),
        new("EgressAllow", "--egress-allow", "DEDALUS_EGRESS_ALLOW", "CIDR[,CIDR...]|none",
            "Ranges every machine may reach although the default deny list names them (an internal mirror, say) [default: none]"),
        new("EgressDenyDefault", "--egress-deny-default", "DEDALUS_EGRESS_DENY_DEFAULT", "CIDR[,CIDR...]|none",
            "Ranges refused to every machine unless its own allow_cidrs name them [default: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, " +
            "169.254.0.0/16, multicast and reserved, fc00::/7, fe80::/10]"),
        new("DnsUpstream", "--dns-upstream", "DEDALUS_DNS_UPSTREAM", "IP[,IP...]",
            "Resolvers the machines' DNS forwarder asks [default: the host's, from /etc/resolv.conf]"),
        new("GatewaySshd", null, null, "listening|inetd",
            "How the gateway reaches a machine's sshd: one sshd per machine on its address (listening; inetd without machine networking) or sshd -i per connection (inetd) [default: listening]"),
        new("NodeName", "--node-name", "DEDALUS_NODE_NAME", "NAME", "This node's name in the node list, for people [default: the host name]"),
        new("NodeVcpu", "--node-vcpu", "DEDALUS_NODE_VCPU", "N",
            "vCPUs the machines placed on this node may have in all [default: 4 per CPU of the host]"),
        new("NodeMemoryMib", "--node-memory-mib", "DEDALUS_NODE_MEMORY_MIB", "MIB",
            "MiB of memory the machines placed on this node may have in all [default: twice the host's memory]"),
        new("NodeHeartbeatInterval", null, null, "TIMESPAN", "How often this node stamps itself alive in the store, 50 ms to 1 min [default: 00:00:02]"),
        new("NodeLostAfter", null, null, "TIMESPAN",
            "A node silent this long is lost: its machines show failed (node_lost) and nothing is placed on it; at least 3 heartbeats, up to 1 h [default: 00:00:15]"),
        new("Metrics", "--metrics", "DEDALUS_METRICS", "true|false",
            "Serve /metrics (Prometheus text format) on the HTTP API's listener, to the clients --metrics-allow admits (others get 404) [default: true]", IsSwitch: true),
        new("MetricsAllow", "--metrics-allow", "DEDALUS_METRICS_ALLOW", "CIDR[,CIDR...]|none",
            "Ranges whose clients may read /metrics (the TCP peer's address; forwarding headers are not trusted); the list replaces the default, " +
            "so name 127.0.0.0/8 too to keep local scrapes; none: nobody [default: 127.0.0.0/8,::1/128]"),
        new("LogFormat", "--log-format", "DEDALUS_LOG_FORMAT", "simple|systemd|json",
            "Log lines: simple (for a terminal), systemd (<6>-style priority prefixes, one line per entry, for journald) or json (one object per line) " +
            "[default: systemd when run by systemd (JOURNAL_STREAM or INVOCATION_ID set), else simple]"),
        new("StorageOvercommit", "--storage-overcommit", "DEDALUS_STORAGE_OVERCOMMIT", "RATIO",
            "Storage the machines may have committed per byte the data directory's disk can back (free space plus machine images), 0.01 to 100 [default: 1]"),
    ];

    /// <summary><c>/var/lib/dedalus-server</c> for root (the server's usual user), else <c>$XDG_DATA_HOME/dedalus-server</c>.</summary>
    public static string DefaultDataDirectory()
    {
        if (Environment.UserName == "root")
        {
            return "/var/lib/dedalus-server";
        }

        var home = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return Path.Combine(home, "dedalus-server");
    }

    /// <summary>Maps the <c>DEDALUS_*</c> variables that are set onto their configuration keys.</summary>
    public static Dictionary<string, string?> FromEnvironment()
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var setting in Settings)
        {
            if (setting.Environment is { } variable && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
            {
                values[setting.ConfigurationKey] = value;
            }
        }

        return values;
    }

    /// <summary>
    /// Reads and validates the whole <c>Dedalus</c> section; every problem is reported, none is fixed up. Errors name
    /// where a value came from: the option when <paramref name="arguments"/> gave it, else the variable when it is set,
    /// else the configuration key.
    /// </summary>
    public static (ServerOptions Options, IReadOnlyList<string> Errors) Read(IConfiguration configuration, ServerArguments? arguments = null)
    {
        var errors = new List<string>();
        var section = configuration.GetSection(ServerOptions.Section);
        foreach (var key in section.GetChildren().Select(c => c.Key))
        {
            if (!Settings.Any(s => string.Equals(s.Key, key, StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add($"{ServerOptions.Section}:{key}: unknown setting; the settings are {string.Join(", ", Settings.Select(s => s.Key))}");
            }
        }

        var reader = new SettingReader(section, errors, arguments ?? ServerArguments.None);
        var defaults = new ServerOptions { DataDirectory = DefaultDataDirectory() };
        var options = new ServerOptions
        {
            DataDirectory = reader.Read("DataDirectory", defaults.DataDirectory, TryDirectory, "a directory path"),
            CaDirectory = reader.Read<string?>("CaDirectory", defaults.CaDirectory, TryCaDirectory, "a directory path"),
            Database = reader.ReadSecret<string?>("Database", defaults.Database, StoreFactory.TryParse, StoreFactory.Expected),

            // ASP.NET's --urls decides when --listen is not given.
            Listen = reader.Read("Listen", string.IsNullOrEmpty(configuration["urls"]) ? defaults.Listen : null, TryListen,
                "HOST:PORT (for example 127.0.0.1:8080) or an http(s) URL"),
            GatewayHost = reader.Read("GatewayHost", defaults.GatewayHost, TryHosts, "a comma-separated list of host names or addresses"),
            GatewayPorts = reader.Read("GatewayPorts", defaults.GatewayPorts, TryPorts, "LO-HI with 1 <= LO <= HI <= 65535"),
            GatewayBind = reader.Read("GatewayBind", defaults.GatewayBind, TryAddress, "an IP address such as 0.0.0.0, 127.0.0.1 or ::"),
            Gateway = reader.Read("Gateway", defaults.Gateway, bool.TryParse, "true or false"),
            HostPattern = reader.Read("HostPattern", defaults.HostPattern, TryHostPattern, "a known_hosts pattern without spaces"),
            Runtime = reader.Read("Runtime", defaults.Runtime, TryRuntime, "runc (the only engine so far)"),
            SessionTtl = reader.Read("SessionTtl", defaults.SessionTtl, Within(TryDuration, ServerOptions.MinSessionTtl, ServerOptions.MaxSessionTtl),
                "a duration from 60 s to 24 h, such as 90s, 15m, 1h or 01:00:00"),
            MaxVcpu = reader.Read("MaxVcpu", defaults.MaxVcpu, TryMaxVcpu, "a multiple of 0.25 from 0.25 to 1024"),
            Dev = reader.Read("Dev", defaults.Dev, bool.TryParse, "true or false"),
            ConsoleSessionLifetime = reader.Read("ConsoleSessionLifetime", defaults.ConsoleSessionLifetime,
                Within(TryDuration, TimeSpan.FromMinutes(5), TimeSpan.FromDays(30)), "a duration from 5 min to 30 days, such as 12h, 90m or 12:00:00"),
            ConsoleIdleTimeout = reader.Read("ConsoleIdleTimeout", defaults.ConsoleIdleTimeout,
                Within(TryDuration, TimeSpan.FromMinutes(1), TimeSpan.FromDays(30)), "a duration from 1 min to 30 days, such as 1h, 15m or 01:00:00"),
            SweepInterval = reader.Read("SweepInterval", defaults.SweepInterval, Within(TryTimeSpan, TimeSpan.FromMilliseconds(10), TimeSpan.FromDays(45)),
                "a time span from 00:00:00.010 to 45.00:00:00"),
            ConnectionAuditRetention = reader.Read("ConnectionAuditRetention", defaults.ConnectionAuditRetention,
                Within(TryTimeSpan, ServerOptions.MinConnectionAuditRetention, ServerOptions.MaxConnectionAuditRetention), "a time span from 01:00:00 to 3650.00:00:00"),
            ConnectionAuditPerMachine = reader.Read("ConnectionAuditPerMachine", defaults.ConnectionAuditPerMachine, TryAuditRows, "a whole number from 1 to 1000000"),
            ReconcileRetryDelay = reader.Read("ReconcileRetryDelay", defaults.ReconcileRetryDelay, Within(TryTimeSpan, TimeSpan.Zero, TimeSpan.FromMinutes(5)),
                "a time span from 00:00:00 to 00:05:00"),
            GatewayPortRetryDelay = reader.Read("GatewayPortRetryDelay", defaults.GatewayPortRetryDelay,
                Within(TryTimeSpan, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5)), "a time span from 00:00:00.010 to 00:05:00"),
            GatewayPortAttempts = reader.Read("GatewayPortAttempts", defaults.GatewayPortAttempts, TryAttempts, "a whole number from 1 to 1000"),
            HostCertificateLifetime = reader.Read("HostCertificateLifetime", defaults.HostCertificateLifetime,
                Within(TryDuration, ServerOptions.MinHostCertificateLifetime, ServerOptions.MaxHostCertificateLifetime),
                "a duration from 5 min to 24 h, such as 30m, 2h or 00:30:00"),
            QuotaMachines = ReadQuota(reader, QuotaCatalog.Machines),
            QuotaVcpu = ReadQuota(reader, QuotaCatalog.Vcpu),
            QuotaMemoryMib = ReadQuota(reader, QuotaCatalog.MemoryMib),
            QuotaStorageGib = ReadQuota(reader, QuotaCatalog.StorageGib),
            QuotaSessions = ReadQuota(reader, QuotaCatalog.Sessions),
            QuotaExecutions = ReadQuota(reader, QuotaCatalog.Executions),
            ExecutionsPerMachine = reader.Read("ExecutionsPerMachine", defaults.ExecutionsPerMachine, Whole(1, 1000), "a whole number from 1 to 1000"),
            ExecutionOutputBytes = reader.Read("ExecutionOutputBytes", defaults.ExecutionOutputBytes, Whole(1024, 64 * 1024 * 1024), "a whole number of bytes from 1024 to 67108864"),
            ExecutionRetention = reader.Read("ExecutionRetention", defaults.ExecutionRetention, Within(TryTimeSpan, TimeSpan.FromMinutes(1), TimeSpan.FromDays(365)),
                "a time span from 00:01:00 to 365.00:00:00"),
            ExecutionsKeptPerMachine = reader.Read("ExecutionsKeptPerMachine", defaults.ExecutionsKeptPerMachine, Whole(1, 1_000_000), "a whole number from 1 to 1000000"),
            ExecutionKillGrace = reader.Read("ExecutionKillGrace", defaults.ExecutionKillGrace, Within(TryTimeSpan, TimeSpan.Zero, TimeSpan.FromMinutes(5)),
                "a time span from 00:00:00 to 00:05:00"),
            ExecutionLogTokenLifetime = reader.Read("ExecutionLogTokenLifetime", defaults.ExecutionLogTokenLifetime,
                Within(TryTimeSpan, TimeSpan.FromSeconds(1), TimeSpan.FromHours(24)), "a time span from 00:00:01 to 24:00:00"),
            DestroyedMachineRetention = reader.Read("DestroyedMachineRetention", defaults.DestroyedMachineRetention,
                Within(TryTimeSpan, TimeSpan.Zero, TimeSpan.FromDays(30)), "a time span from 00:00:00 to 30.00:00:00"),
            RebootGrace = reader.Read("RebootGrace", defaults.RebootGrace, Within(TryTimeSpan, TimeSpan.Zero, TimeSpan.FromMinutes(5)),
                "a time span from 00:00:00 to 00:05:00"),
            AutoresizeCeilingFactor = reader.Read("AutoresizeCeilingFactor", defaults.AutoresizeCeilingFactor, TryCeilingFactor, "a ratio from 1 to 16, such as 2 or 1.5"),
            AutoresizeInterval = reader.Read("AutoresizeInterval", defaults.AutoresizeInterval,
                Within(TryTimeSpan, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(1)), "a time span from 00:00:00.05 to 00:01:00"),
            SessionWakeHold = reader.Read("SessionWakeHold", defaults.SessionWakeHold, Within(TryTimeSpan, TimeSpan.Zero, TimeSpan.FromSeconds(30)),
                "a time span from 00:00:00 to 00:00:30"),
            StorageOvercommit = reader.Read("StorageOvercommit", defaults.StorageOvercommit, TryOvercommit, "a ratio from 0.01 to 100, such as 1 or 1.5"),
            MachineNetwork = reader.Read("MachineNetwork", defaults.MachineNetwork, TryMachineNetwork,
                "an IPv4 subnet from /8 to /28 with its host bits zero, such as 10.207.0.0/16, or off"),
            MachineUids = reader.Read("MachineUids", defaults.MachineUids, TryMachineUids,
                "FIRST-LAST, host uids with FIRST a multiple of 65536 from 262144 and LAST at most 2147483647, holding at least 65536, such as 1073741824-1610612735, or shared"),
            EgressAllow = reader.Read("EgressAllow", defaults.EgressAllow, TryCidrs, "a comma-separated list of CIDRs such as 10.20.0.0/16, or none"),
            EgressDenyDefault = reader.Read("EgressDenyDefault", defaults.EgressDenyDefault, TryCidrs, "a comma-separated list of CIDRs such as 10.0.0.0/8, or none"),
            GatewaySshd = reader.Read("GatewaySshd", defaults.GatewaySshd, TryGatewaySshd, "listening or inetd"),
            DnsUpstream = reader.Read("DnsUpstream", defaults.DnsUpstream, TryAddresses, "a comma-separated list of IP addresses such as 192.0.2.53"),
            NodeName = reader.Read("NodeName", defaults.NodeName, TryNodeName, "1 to 63 printable characters"),
            NodeVcpu = reader.Read<double?>("NodeVcpu", defaults.NodeVcpu, TryNodeVcpu, "a number of vCPUs from 0.25 to 65536"),
            NodeMemoryMib = reader.Read<long?>("NodeMemoryMib", defaults.NodeMemoryMib, TryNodeMemory, "a whole number of MiB from 128 to 1073741824"),
            NodeHeartbeatInterval = reader.Read("NodeHeartbeatInterval", defaults.NodeHeartbeatInterval,
                Within(TryTimeSpan, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(1)), "a time span from 00:00:00.05 to 00:01:00"),
            Metrics = reader.Read("Metrics", defaults.Metrics, bool.TryParse, "true or false"),
            MetricsAllow = reader.Read("MetricsAllow", defaults.MetricsAllow, TryCidrs, "a comma-separated list of CIDRs such as 10.0.0.0/8, or none"),
            LogFormat = reader.Read("LogFormat", defaults.LogFormat, TryLogFormat, "simple, systemd or json"),
            NodeLostAfter = reader.Read("NodeLostAfter", defaults.NodeLostAfter, Within(TryTimeSpan, TimeSpan.FromMilliseconds(150), TimeSpan.FromHours(1)),
                "a time span from 00:00:00.15 to 01:00:00"),
        };

        if (errors.Count == 0 && options.ConsoleIdleTimeout > options.ConsoleSessionLifetime)
        {
            errors.Add($"{ServerOptions.Section}:ConsoleIdleTimeout: {options.ConsoleIdleTimeout} is longer than the console session lifetime " +
                $"({options.ConsoleSessionLifetime}); a browser session never idles that long");
        }

        if (errors.Count == 0 && options.NodeLostAfter < 3 * options.NodeHeartbeatInterval)
        {
            errors.Add($"{ServerOptions.Section}:NodeLostAfter: {options.NodeLostAfter} is less than 3 heartbeats of {options.NodeHeartbeatInterval}; " +
                "a node would be declared lost after a single late heartbeat");
        }

        return (options, errors);
    }

    /// <summary>
    /// Checks what needs the host rather than the text: that the machines' mapped root can reach the data directory
    /// (runc bind-mounts machine bundles from below it). The server sets the data directory's own mode (0711); its
    /// ancestors are the operator's. Nothing is created.
    /// </summary>
    public static async Task<IReadOnlyList<string>> CheckHostAsync(ServerOptions options, CancellationToken cancellationToken = default)
    {
        var errors = new List<string>();
        if (options.Runtime == "runc")
        {
            var runtimeOptions = new RuncRuntimeOptions { DataDirectory = RuntimeDirectory(options) };
            if (await RuncMachineRuntime.FindBlockingDirectoryAsync(runtimeOptions, Path.GetDirectoryName(options.DataDirectory) ?? "/", cancellationToken).ConfigureAwait(false) is { } blocked)
            {
                var mode = Convert.ToString((int)File.GetUnixFileMode(blocked), 8).PadLeft(4, '0');
                errors.Add(
                    $"--data-dir {options.DataDirectory}: {blocked} (mode {mode}) does not let the machines' roots (unprivileged host uids such as {runtimeOptions.SharedUidBase}) " +
                    $"through, so no machine could start; choose a data directory that others may reach (for example /var/lib/dedalus-server), " +
                    $"or run `chmod o+x {blocked}`");
            }
        }

        return errors;
    }

    /// <summary>Where the machine runtime keeps its state.</summary>
    public static string RuntimeDirectory(ServerOptions options) => Path.Combine(options.DataDirectory, "runtime");

    /// <summary>The Kestrel URL of <see cref="ServerOptions.Listen"/>.</summary>
    public static string ListenUrl(string listen) => listen.Contains("://", StringComparison.Ordinal) ? listen : "http://" + listen;

    /// <summary>Where <paramref name="key"/>'s value came from, for messages: its option when the command line gave it, else its variable when set, else its key.</summary>
    public static string SourceOf(string key, ServerArguments arguments)
    {
        var setting = Settings.First(s => s.Key == key);
        return setting.Flag is { } flag && arguments.Values.ContainsKey(setting.ConfigurationKey) ? flag
            : setting.Environment is { } variable && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } ? variable
            : setting.ConfigurationKey;
    }

    private static bool TryDirectory(string text, out string directory)
    {
        directory = text.Contains('\0', StringComparison.Ordinal) ? string.Empty : Path.GetFullPath(text);
        return directory.Length > 0;
    }

    private static bool TryListen(string text, out string? listen)
    {
        listen = text;
        return (text.Contains("://", StringComparison.Ordinal) || text.Contains(':', StringComparison.Ordinal))
            && Uri.TryCreate(ListenUrl(text), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/";
    }

    private static bool TryHosts(string text, out IReadOnlyList<string> hosts)
    {
        hosts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return hosts.Count > 0 && hosts.All(h => Uri.CheckHostName(h) != UriHostNameType.Unknown);
    }

    private static bool TryPorts(string text, out PortRange ports)
    {
        var parsed = PortRange.TryParse(text, out var range);
        ports = range ?? new PortRange(1, 1);
        return parsed;
    }

    private static bool TryAddress(string text, out string address)
    {
        address = text;
        return IPAddress.TryParse(text, out _);
    }

    private static bool TryMachineUids(string text, out MachineUidPool? pool)
    {
        pool = null;
        return text.Equals("shared", StringComparison.OrdinalIgnoreCase) || MachineUidPool.TryParse(text, out pool, out _);
    }

    private static bool TryMachineNetwork(string text, out IPNetwork? subnet)
    {
        subnet = null;
        if (text.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (!Networking.NetworkPolicies.TryParseExact(text, out var parsed) || parsed.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || parsed.PrefixLength is < 8 or > 28)
        {
            return false;
        }

        subnet = parsed;
        return true;
    }

    private static bool TryGatewaySshd(string text, out string mode)
    {
        mode = text.ToLowerInvariant();
        return mode is GatewaySshdModes.Listening or GatewaySshdModes.Inetd;
    }

    private static bool TryLogFormat(string text, out string? format)
    {
        format = text.ToLowerInvariant();
        return format is LogFormats.Simple or LogFormats.Systemd or LogFormats.Json;
    }

    private static bool TryCidrs(string text, out IReadOnlyList<IPNetwork> cidrs)
    {
        cidrs = [];
        if (text.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var list = new List<IPNetwork>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Networking.NetworkPolicies.TryParseExact(part, out var cidr))
            {
                return false;
            }

            list.Add(cidr);
        }

        cidrs = list;
        return list.Count > 0;
    }

    private static bool TryAddresses(string text, out IReadOnlyList<IPAddress> addresses)
    {
        var list = new List<IPAddress>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!IPAddress.TryParse(part, out var address))
            {
                addresses = [];
                return false;
            }

            list.Add(address);
        }

        addresses = list;
        return list.Count > 0;
    }

    private static bool TryHostPattern(string text, out string? pattern)
    {
        pattern = text;
        return !text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));
    }

    private static bool TryCaDirectory(string text, out string? directory)
    {
        var ok = TryDirectory(text, out var full);
        directory = full;
        return ok;
    }

    private static bool TryNodeName(string text, out string name)
    {
        name = text;
        return text.Length is >= 1 and <= 63 && !text.Any(char.IsControl);
    }

    private static bool TryNodeVcpu(string text, out double? vcpu)
    {
        var ok = double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value is >= 0.25 and <= 65536;
        vcpu = value;
        return ok;
    }

    private static bool TryNodeMemory(string text, out long? mib)
    {
        var ok = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 128 and <= 1L << 30;
        mib = value;
        return ok;
    }

    private static bool TryRuntime(string text, out string runtime)
    {
        runtime = text.ToLowerInvariant();
        return runtime == "runc";
    }

    private static bool TryMaxVcpu(string text, out double vcpu) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out vcpu) && vcpu is >= 0.25 and <= 1024 && vcpu % 0.25 == 0;

    private static bool TryAttempts(string text, out int attempts) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out attempts) && attempts is >= 1 and <= 1000;

    private static bool TryAuditRows(string text, out int rows) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out rows) && rows is >= 1 and <= ServerOptions.MaxConnectionAuditPerMachine;

    private static QuotaLimit ReadQuota(SettingReader reader, QuotaInfo quota) =>
        reader.Read(quota.SettingKey, quota.Default, (string text, out QuotaLimit limit) => QuotaLimit.TryParse(text, quota, out limit), quota.Expected);

    private static string QuotaDescription(QuotaInfo quota) => quota.Quota switch
    {
        Quota.Machines => "machines (a % is of the gateway port range)",
        Quota.Vcpu => "the vcpu of its machines (a % is of the host's CPUs)",
        Quota.MemoryMib => "the memory_mib of its machines (a % is of the host's memory)",
        Quota.StorageGib => "the storage_gib of its machines (a % is of the storage the host can back)",
        _ => "live SSH sessions",
    };

    private static bool TryOvercommit(string text, out double ratio) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out ratio) && ratio is >= 0.01 and <= 100;

    private static bool TryCeilingFactor(string text, out double ratio) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out ratio) && ratio is >= 1 and <= 16;

    private static bool TryTimeSpan(string text, out TimeSpan value) => TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);

    /// <summary>A duration as <c>01:00:00</c> or in the autosleep grammar (<c>90s</c>, <c>15m</c>, <c>1h</c>).</summary>
    internal static bool TryDuration(string text, out TimeSpan value)
    {
        if (TryTimeSpan(text, out value))
        {
            return true;
        }

        var parsed = Autosleep.TryParse(text, out var seconds, out _) && text.Trim() is not ("never" or "off");
        value = TimeSpan.FromSeconds(seconds);
        return parsed;
    }

    private static TryParse<TimeSpan> Within(TryParse<TimeSpan> parse, TimeSpan min, TimeSpan max) =>
        (string text, out TimeSpan value) => parse(text, out value) && value >= min && value <= max;

    private static TryParse<int> Whole(int min, int max) =>
        (string text, out int value) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;

    private delegate bool TryParse<T>(string text, out T value);

    /// <summary>A parse that says what is wrong without repeating the text.</summary>
    private delegate bool TryParseExplained<T>(string text, out T value, out string problem);

    /// <summary>Reads one setting's text and parses it, recording an error that names the setting and the bad value.</summary>
    private sealed class SettingReader(IConfigurationSection section, List<string> errors, ServerArguments arguments)
    {
        public string? Text(string key) => section[key] is { Length: > 0 } text ? text.Trim() : null;

        /// <summary>The setting's value, or <paramref name="fallback"/> when it is not set or (recording the error) not valid.</summary>
        public T Read<T>(string key, T fallback, TryParse<T> parse, string expected)
        {
            var text = section[key] is { Length: > 0 } raw ? raw.Trim() : null;
            if (text is null)
            {
                return fallback;
            }

            if (parse(text, out var value))
            {
                return value;
            }

            errors.Add(Message(key, text, expected));
            return fallback;
        }

        /// <summary>As <see cref="Read{T}"/>, for a value that may hold a password: an error never repeats it.</summary>
        public T ReadSecret<T>(string key, T fallback, TryParseExplained<T> parse, string expected)
        {
            var text = section[key] is { Length: > 0 } raw ? raw.Trim() : null;
            if (text is null)
            {
                return fallback;
            }

            if (parse(text, out var value, out var problem))
            {
                return value;
            }

            errors.Add($"{SourceOf(key, arguments)}: must be {expected}; {problem} (the value is not shown: it may hold a password)");
            return fallback;
        }

        private string Message(string key, string text, string expected)
        {
            var shown = text.Length <= 80 ? text : text[..80] + "...";
            return $"{SourceOf(key, arguments)}: must be {expected}, not '{shown}'";
        }
    }
}
