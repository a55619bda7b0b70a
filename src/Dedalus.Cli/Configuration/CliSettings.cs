using Dedalus.Client;

namespace Dedalus.Cli.Configuration;

/// <summary>
/// Where the CLI finds the server and its key, first hit wins: flags, environment variables
/// (<c>DEDALUS_BASE_URL</c>, <c>DEDALUS_API_KEY</c>, <c>DEDALUS_X_API_KEY</c>, <c>DEDALUS_ORG_ID</c>), then the
/// file a dev server (<c>dedalus-server --dev</c>) writes: <c>DEDALUS_CREDENTIALS_FILE</c>, else
/// <c>$XDG_CONFIG_HOME/dedalus/dev.env</c> (default <c>~/.config/dedalus/dev.env</c>), <c>NAME=value</c> lines.
/// </summary>
internal static class CliSettings
{
    public static DedalusClientOptions Resolve(string? baseUrlFlag, string? apiKeyFlag, string? orgIdFlag)
    {
        var file = ReadCredentialsFile();
        string? Pick(string? flag, string name) =>
            NonEmpty(flag) ?? NonEmpty(Environment.GetEnvironmentVariable(name)) ?? (file.TryGetValue(name, out var v) ? NonEmpty(v) : null);

        var baseUrl = Pick(baseUrlFlag, "DEDALUS_BASE_URL");
        var apiKey = Pick(apiKeyFlag, "DEDALUS_API_KEY");
        var xApiKey = apiKeyFlag is null ? Pick(null, "DEDALUS_X_API_KEY") : null;
        if (apiKey is null && xApiKey is null)
        {
            throw new CliException("no API key: set DEDALUS_API_KEY or pass --api-key (`dedalus-server --dev` writes ~/.config/dedalus/dev.env)", ExitCodes.Auth);
        }

        Uri? uri = null;
        if (baseUrl is not null && (!Uri.TryCreate(baseUrl, UriKind.Absolute, out uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            throw new CliException($"invalid base URL '{baseUrl}': set DEDALUS_BASE_URL or --base-url to http(s)://host:port", ExitCodes.Usage);
        }

        if (uri is not null && uri.AbsolutePath.TrimEnd('/').EndsWith("/v1", StringComparison.Ordinal))
        {
            // The API's paths start with /v1 already: a base URL copied with it would ask for /v1/v1/machines.
            var path = uri.AbsolutePath.TrimEnd('/');
            uri = new UriBuilder(uri) { Path = path[..^"/v1".Length] + "/" }.Uri;
        }

        return new DedalusClientOptions
        {
            BaseUrl = uri ?? DedalusClientOptions.DefaultBaseUrl,
            ApiKey = apiKey,
            XApiKey = xApiKey,
            OrgId = Pick(orgIdFlag, "DEDALUS_ORG_ID"),
            UserAgent = "dedalus-cli/" + CliVersion.Value,
        };
    }

    public static string CredentialsPath()
    {
        if (NonEmpty(Environment.GetEnvironmentVariable("DEDALUS_CREDENTIALS_FILE")) is { } explicitPath)
        {
            return explicitPath;
        }

        var configHome = NonEmpty(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME"))
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(configHome, "dedalus", "dev.env");
    }

    private static Dictionary<string, string> ReadCredentialsFile()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(CredentialsPath());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return values;
        }

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

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
