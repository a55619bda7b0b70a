using Dedalus.Client;

namespace Dedalus.Cli.Configuration;

/// <summary>
/// Where the CLI finds the server and its key. Flags (<c>--base-url</c>, <c>--api-key</c>, <c>--org-id</c>) override
/// one setting each. Everything else comes from one source as a whole, so that a key is never paired with another
/// source's org (403 <c>AUTH_ORG_MISMATCH</c>) or sent to another source's server:
/// <list type="number">
/// <item>the environment, when it has a key (<c>DEDALUS_API_KEY</c> or <c>DEDALUS_X_API_KEY</c>): the key, and only
/// the environment's <c>DEDALUS_ORG_ID</c> and <c>DEDALUS_BASE_URL</c> (else no org, and the public default URL, as the
/// official clients do);</item>
/// <item>else the file a dev server (<c>dedalus-server --dev</c>) writes: <c>DEDALUS_CREDENTIALS_FILE</c>, else
/// <c>$XDG_CONFIG_HOME/dedalus/dev.env</c> (default <c>~/.config/dedalus/dev.env</c>; on Windows
/// <c>%APPDATA%\dedalus\dev.env</c>), <c>NAME=value</c> lines,
/// with its key, org and URL.</item>
/// </list>
/// A key given by <c>--api-key</c> takes its org only from <c>--org-id</c>, and its URL from <c>--base-url</c>, else the
/// environment's <c>DEDALUS_BASE_URL</c>, else the file's, else the default. With no key anywhere (an error, except for
/// <c>dedalus doctor</c>), the URL and org are taken from wherever they are set, to be shown and checked.
/// </summary>
internal static class CliSettings
{
    public const string ApiKeyVariable = "DEDALUS_API_KEY";
    public const string XApiKeyVariable = "DEDALUS_X_API_KEY";
    public const string OrgIdVariable = "DEDALUS_ORG_ID";
    public const string BaseUrlVariable = "DEDALUS_BASE_URL";

    /// <summary>The settings as chosen, with where each came from; <see cref="Require"/> makes the client's options.</summary>
    public static ResolvedSettings Resolve(string? baseUrlFlag, string? apiKeyFlag, string? orgIdFlag) =>
        Resolve(baseUrlFlag, apiKeyFlag, orgIdFlag, name => Environment.GetEnvironmentVariable(name), CredentialsPath(), ReadCredentialsFile);

    /// <summary>The choice itself, on an environment and a file given as values (unit tests).</summary>
    internal static ResolvedSettings Resolve(
        string? baseUrlFlag,
        string? apiKeyFlag,
        string? orgIdFlag,
        Func<string, string?> environment,
        string filePath,
        Func<string, Dictionary<string, string>?> readFile)
    {
        var fileValues = readFile(filePath);
        var file = new SettingsSource(SettingSource.File, filePath, name => fileValues is not null && fileValues.TryGetValue(name, out var v) ? NonEmpty(v) : null);
        var env = new SettingsSource(SettingSource.Environment, null, name => NonEmpty(environment(name)));

        // The one source of the key (and with it the org and the URL): the environment when it has a key, else the file.
        var keySource = env.Get(ApiKeyVariable) is not null || env.Get(XApiKeyVariable) is not null ? env : file;

        Setting? apiKey = null;
        Setting? xApiKey = null;
        Setting? orgId;
        Setting? baseUrl;
        if (NonEmpty(apiKeyFlag) is { } flagKey)
        {
            apiKey = new Setting(flagKey, SettingSource.Flag, "--api-key");
            orgId = NonEmpty(orgIdFlag) is { } flagOrg ? new Setting(flagOrg, SettingSource.Flag, "--org-id") : null;
            baseUrl = Flag(baseUrlFlag, "--base-url") ?? env.Setting(BaseUrlVariable) ?? file.Setting(BaseUrlVariable);
        }
        else if (keySource.Get(ApiKeyVariable) is null && keySource.Get(XApiKeyVariable) is null)
        {
            // No key anywhere: nothing to pair with, so show (and `doctor` check) whatever URL and org were set.
            orgId = Flag(orgIdFlag, "--org-id") ?? env.Setting(OrgIdVariable) ?? file.Setting(OrgIdVariable);
            baseUrl = Flag(baseUrlFlag, "--base-url") ?? env.Setting(BaseUrlVariable) ?? file.Setting(BaseUrlVariable);
        }
        else
        {
            apiKey = keySource.Setting(ApiKeyVariable);
            xApiKey = keySource.Setting(XApiKeyVariable);
            orgId = Flag(orgIdFlag, "--org-id") ?? keySource.Setting(OrgIdVariable);
            baseUrl = Flag(baseUrlFlag, "--base-url") ?? keySource.Setting(BaseUrlVariable);
        }

        return new ResolvedSettings(apiKey, xApiKey, orgId, baseUrl, filePath, fileValues is not null);
    }

    /// <summary>The client options of <paramref name="settings"/>: a usage error without a key or with a bad URL.</summary>
    public static DedalusClientOptions Require(ResolvedSettings settings)
    {
        if (settings.ApiKey is null && settings.XApiKey is null)
        {
            throw new CliException(
                "no API key: set DEDALUS_API_KEY or pass --api-key (`dedalus-server --dev` writes ~/.config/dedalus/dev.env; `dedalus doctor` shows what was found)",
                ExitCodes.Auth);
        }

        return new DedalusClientOptions
        {
            BaseUrl = ParseBaseUrl(settings.BaseUrl),
            ApiKey = settings.ApiKey?.Value,
            XApiKey = settings.XApiKey?.Value,
            OrgId = settings.OrgId?.Value,
            UserAgent = "dedalus-cli/" + CliVersion.Value,

            // Every setting was chosen above, from one source: the SDK must not add the environment's org to a file's key.
            ReadEnvironment = false,
        };
    }

    /// <summary>The API root of a base URL setting (the default when unset), without a trailing <c>/v1</c>.</summary>
    public static Uri ParseBaseUrl(Setting? baseUrl)
    {
        if (baseUrl is null)
        {
            return DedalusClientOptions.DefaultBaseUrl;
        }

        if (!Uri.TryCreate(baseUrl.Value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"invalid base URL '{baseUrl.Value}' (from {baseUrl.Origin}): set DEDALUS_BASE_URL or --base-url to http(s)://host:port", ExitCodes.Usage);
        }

        if (uri.AbsolutePath.TrimEnd('/').EndsWith("/v1", StringComparison.Ordinal))
        {
            // The API's paths start with /v1 already: a base URL copied with it would ask for /v1/v1/machines.
            var path = uri.AbsolutePath.TrimEnd('/');
            uri = new UriBuilder(uri) { Path = path[..^"/v1".Length] + "/" }.Uri;
        }

        return uri;
    }

    public static string CredentialsPath()
    {
        if (NonEmpty(Environment.GetEnvironmentVariable("DEDALUS_CREDENTIALS_FILE")) is { } explicitPath)
        {
            return explicitPath;
        }

        return Path.Combine(CliPaths.ConfigHome(), "dedalus", "dev.env");
    }

    /// <summary>The <c>NAME=value</c> lines of a credentials file; <see langword="null"/> when it cannot be read.</summary>
    internal static Dictionary<string, string>? ReadCredentialsFile(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return ParseCredentials(lines);
    }

    internal static Dictionary<string, string> ParseCredentials(IEnumerable<string> lines)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            values[line[..equals].Trim()] = value;
        }

        return values;
    }

    private static Setting? Flag(string? value, string flag) => NonEmpty(value) is { } v ? new Setting(v, SettingSource.Flag, flag) : null;

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private sealed class SettingsSource(SettingSource kind, string? path, Func<string, string?> read)
    {
        public string? Get(string name) => read(name);

        public Setting? Setting(string name) => read(name) is { } value
            ? new Setting(value, kind, kind == SettingSource.File ? $"{name} in {path}" : name)
            : null;
    }
}
