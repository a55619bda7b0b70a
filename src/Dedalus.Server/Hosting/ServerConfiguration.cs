using System.Globalization;

namespace Dedalus.Server.Hosting;

/// <summary>
/// Maps the command line (<c>--data-dir</c>, <c>--listen</c>, <c>--gateway-host</c>, <c>--gateway-ports</c>, ...) and
/// <c>DEDALUS_*</c> environment variables onto the <c>Dedalus</c> configuration section (appsettings work too), and
/// reads the <see cref="ServerOptions"/> snapshot from it. Precedence: command line, environment, appsettings.
/// </summary>
public static class ServerConfiguration
{
    /// <summary>Command-line switch, environment variable, configuration key.</summary>
    public static readonly IReadOnlyList<(string Switch, string Environment, string Key)> Options =
    [
        ("--data-dir", "DEDALUS_DATA_DIR", "Dedalus:DataDirectory"),
        ("--listen", "DEDALUS_LISTEN", "Dedalus:Listen"),
        ("--gateway-host", "DEDALUS_GATEWAY_HOST", "Dedalus:GatewayHost"),
        ("--gateway-ports", "DEDALUS_GATEWAY_PORTS", "Dedalus:GatewayPorts"),
        ("--gateway-bind", "DEDALUS_GATEWAY_BIND", "Dedalus:GatewayBind"),
        ("--gateway", "DEDALUS_GATEWAY", "Dedalus:Gateway"),
        ("--host-pattern", "DEDALUS_HOST_PATTERN", "Dedalus:HostPattern"),
        ("--runtime", "DEDALUS_RUNTIME", "Dedalus:Runtime"),
        ("--session-ttl", "DEDALUS_SESSION_TTL", "Dedalus:SessionTtl"),
        ("--max-vcpu", "DEDALUS_MAX_VCPU", "Dedalus:MaxVcpu"),
        ("--dev", "DEDALUS_DEV", "Dedalus:Dev"),
    ];

    /// <summary>Adds the environment and command-line sources (flags without a value, like <c>--dev</c>, mean true).</summary>
    public static void AddDedalusSources(this IConfigurationBuilder configuration, string[] args)
    {
        var fromEnvironment = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (_, variable, key) in Options)
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
            {
                fromEnvironment[key] = value;
            }
        }

        configuration.AddInMemoryCollection(fromEnvironment);
        configuration.AddCommandLine(NormalizeFlags(args), Options.ToDictionary(o => o.Switch, o => o.Key, StringComparer.Ordinal));
    }

    private static string[] NormalizeFlags(string[] args)
    {
        var result = new List<string>(args.Length);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var isFlag = arg is "--dev" or "--gateway";
            var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            result.Add(isFlag && !hasValue ? arg + "=true" : arg);
        }

        return [.. result];
    }

    public static ServerOptions Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(ServerOptions.Section);
        var dataDirectory = section["DataDirectory"];
        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            var home = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
            dataDirectory = Path.Combine(home, "dedalus-server");
        }

        var options = new ServerOptions { DataDirectory = Path.GetFullPath(dataDirectory) };
        if (section["GatewayHost"] is { Length: > 0 } hosts)
        {
            options = options with { GatewayHosts = [.. hosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] };
        }

        if (section["GatewayPorts"] is { Length: > 0 } ports)
        {
            var parts = ports.Split('-', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var low)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var high)
                || low < 1 || high > 65535 || low > high)
            {
                throw new InvalidOperationException($"--gateway-ports must be LO-HI within 1-65535, not '{ports}'");
            }

            options = options with { GatewayPortLow = low, GatewayPortHigh = high };
        }

        if (section["GatewayBind"] is { Length: > 0 } bind)
        {
            options = options with { GatewayBindAddress = bind };
        }

        if (section["Gateway"] is { Length: > 0 } gateway)
        {
            options = options with { EnableGateway = bool.Parse(gateway) };
        }

        if (section["HostPattern"] is { Length: > 0 } pattern)
        {
            options = options with { HostPattern = pattern };
        }

        if (section["Runtime"] is { Length: > 0 } runtime)
        {
            options = options with { Runtime = runtime.ToLowerInvariant() };
        }

        if (section["SessionTtl"] is { Length: > 0 } ttlText)
        {
            var ttl = TimeSpan.TryParse(ttlText, CultureInfo.InvariantCulture, out var span)
                ? span
                : Domain.Autosleep.TryParse(ttlText, out var seconds, out _) ? TimeSpan.FromSeconds(seconds) : throw new InvalidOperationException($"--session-ttl '{ttlText}' is not a duration");
            if (ttl < ServerOptions.MinSessionTtl || ttl > ServerOptions.MaxSessionTtl)
            {
                throw new InvalidOperationException($"--session-ttl must be between {ServerOptions.MinSessionTtl} and {ServerOptions.MaxSessionTtl}");
            }

            options = options with { SessionTtl = ttl };
        }

        if (section["MaxVcpu"] is { Length: > 0 } maxVcpu)
        {
            options = options with { Limits = options.Limits with { MaxVcpu = double.Parse(maxVcpu, CultureInfo.InvariantCulture) } };
        }

        if (section["Dev"] is { Length: > 0 } dev)
        {
            options = options with { Dev = bool.Parse(dev) };
        }

        if (section["SweepInterval"] is { Length: > 0 } sweep)
        {
            var interval = TimeSpan.Parse(sweep, CultureInfo.InvariantCulture);
            if (interval < TimeSpan.FromMilliseconds(10) || interval > TimeSpan.FromDays(45))
            {
                throw new InvalidOperationException("Dedalus:SweepInterval must be between 10 ms and 45 days");
            }

            options = options with { SweepInterval = interval };
        }

        if (section["ReconcileRetryDelay"] is { Length: > 0 } retryDelay)
        {
            var delay = TimeSpan.Parse(retryDelay, CultureInfo.InvariantCulture);
            if (delay < TimeSpan.Zero || delay > TimeSpan.FromMinutes(5))
            {
                throw new InvalidOperationException("Dedalus:ReconcileRetryDelay must be between 0 and 5 minutes");
            }

            options = options with { ReconcileRetryDelay = delay };
        }

        return options;
    }

    /// <summary>The Kestrel URL for <c>--listen HOST:PORT</c> (default 127.0.0.1:8080), or null when <c>--urls</c> decides.</summary>
    public static string? ListenUrl(IConfiguration configuration)
    {
        var listen = configuration[$"{ServerOptions.Section}:Listen"];
        if (string.IsNullOrWhiteSpace(listen))
        {
            return string.IsNullOrEmpty(configuration["urls"]) ? "http://127.0.0.1:8080" : null;
        }

        return listen.Contains("://", StringComparison.Ordinal) ? listen : "http://" + listen;
    }
}
