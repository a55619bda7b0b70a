using System.Globalization;
using System.Net;
using Dedalus.Machines.Runc;
using Dedalus.Server.Machines;

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
        new("SweepInterval", null, null, "TIMESPAN", "How often autosleep, session expiry and retention run, 10 ms to 45 days [default: 00:00:05]"),
        new("ReconcileRetryDelay", null, null, "TIMESPAN", "Back-off step between retries of a failing runtime step, 0 to 5 min [default: 00:00:00.5]"),
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
        var dataDirectory = reader.Text("DataDirectory") is { } dir ? Path.GetFullPath(dir) : defaults.DataDirectory;
        var options = new ServerOptions
        {
            DataDirectory = dataDirectory,
            // ASP.NET's --urls decides when --listen is not given.
            Listen = reader.Text("Listen") is { } listen ? CheckListen(listen, errors) : string.IsNullOrEmpty(configuration["urls"]) ? defaults.Listen : null,
            GatewayHost = reader.Parse("GatewayHost", ParseHosts, "a comma-separated list of host names or addresses") ?? defaults.GatewayHost,
            GatewayPorts = reader.Parse("GatewayPorts", text => PortRange.TryParse(text, out var range) ? range : null, "LO-HI with 1 <= LO <= HI <= 65535") ?? defaults.GatewayPorts,
            GatewayBind = reader.Parse("GatewayBind", text => IPAddress.TryParse(text, out _) ? text : null, "an IP address such as 0.0.0.0, 127.0.0.1 or ::") ?? defaults.GatewayBind,
            Gateway = reader.ParseValue("Gateway", ParseBool, "true or false") ?? defaults.Gateway,
            HostPattern = reader.Parse("HostPattern", text => text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) ? null : text, "a known_hosts pattern without spaces") ?? defaults.HostPattern,
            Runtime = reader.Parse("Runtime", text => text.Equals("runc", StringComparison.OrdinalIgnoreCase) ? "runc" : null, "runc (the only engine so far)") ?? defaults.Runtime,
            SessionTtl = reader.ParseValue<TimeSpan>("SessionTtl", text => ParseDuration(text) is { } ttl && ttl >= ServerOptions.MinSessionTtl && ttl <= ServerOptions.MaxSessionTtl ? ttl : null,
                "a duration from 60 s to 24 h, such as 90s, 15m, 1h or 01:00:00") ?? defaults.SessionTtl,
            MaxVcpu = reader.ParseValue<double>("MaxVcpu", text => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0.25 && v <= 1024 ? v : null,
                "a number from 0.25 to 1024") ?? defaults.MaxVcpu,
            Dev = reader.ParseValue("Dev", ParseBool, "true or false") ?? defaults.Dev,
            SweepInterval = reader.ParseValue<TimeSpan>("SweepInterval", text => ParseTimeSpan(text) is { } t && t >= TimeSpan.FromMilliseconds(10) && t <= TimeSpan.FromDays(45) ? t : null,
                "a time span from 00:00:00.010 to 45.00:00:00") ?? defaults.SweepInterval,
            ReconcileRetryDelay = reader.ParseValue<TimeSpan>("ReconcileRetryDelay", text => ParseTimeSpan(text) is { } t && t >= TimeSpan.Zero && t <= TimeSpan.FromMinutes(5) ? t : null,
                "a time span from 00:00:00 to 00:05:00") ?? defaults.ReconcileRetryDelay,
        };

        if (options.MaxVcpu % 0.25 != 0)
        {
            errors.Add($"--max-vcpu: must be a multiple of 0.25, not {options.MaxVcpu.ToString(CultureInfo.InvariantCulture)}");
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
                    $"--data-dir {options.DataDirectory}: {blocked} (mode {mode}) does not let the machines' mapped root (host uid {runtimeOptions.UidMapBase}) " +
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

    private static string? CheckListen(string listen, List<string> errors)
    {
        if (!Uri.TryCreate(ListenUrl(listen), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/"
            || (!listen.Contains("://", StringComparison.Ordinal) && !listen.Contains(':', StringComparison.Ordinal)))
        {
            errors.Add($"--listen: must be HOST:PORT (for example 127.0.0.1:8080) or an http(s) URL, not '{listen}'");
        }

        return listen;
    }

    private static IReadOnlyList<string>? ParseHosts(string text)
    {
        var hosts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return hosts.Length > 0 && hosts.All(h => Uri.CheckHostName(h) != UriHostNameType.Unknown) ? hosts : null;
    }

    private static bool? ParseBool(string text) => bool.TryParse(text, out var value) ? value : null;

    private static TimeSpan? ParseTimeSpan(string text) =>
        TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>A duration as <c>01:00:00</c> or in the autosleep grammar (<c>90s</c>, <c>15m</c>, <c>1h</c>).</summary>
    private static TimeSpan? ParseDuration(string text) =>
        ParseTimeSpan(text) ?? (Autosleep.TryParse(text, out var seconds, out _) && text.Trim() is not ("never" or "off") ? TimeSpan.FromSeconds(seconds) : null);

    /// <summary>Reads one setting's text and parses it, recording an error that names the setting and the bad value.</summary>
    private sealed class SettingReader(IConfigurationSection section, List<string> errors, ServerArguments arguments)
    {
        public string? Text(string key) => section[key] is { Length: > 0 } text ? text.Trim() : null;

        public T? Parse<T>(string key, Func<string, T?> parse, string expected)
            where T : class
        {
            var text = Text(key);
            var value = text is null ? null : parse(text);
            Check(key, text, value is not null, expected);
            return value;
        }

        public T? ParseValue<T>(string key, Func<string, T?> parse, string expected)
            where T : struct
        {
            var text = Text(key);
            var value = text is null ? null : parse(text);
            Check(key, text, value is not null, expected);
            return value;
        }

        private void Check(string key, string? text, bool parsed, string expected)
        {
            if (text is not null && !parsed)
            {
                errors.Add(Message(key, text, expected));
            }
        }

        private string Message(string key, string text, string expected)
        {
            var setting = Settings.First(s => s.Key == key);
            var source = setting.Flag is { } flag && arguments.Values.ContainsKey(setting.ConfigurationKey) ? flag
                : setting.Environment is { } variable && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } ? variable
                : setting.ConfigurationKey;
            var shown = text.Length <= 80 ? text : text[..80] + "...";
            return $"{source}: must be {expected}, not '{shown}'";
        }
    }
}
