using Dedalus.Server.Auth;

namespace Dedalus.Server.Hosting;

/// <summary>
/// <c>--dev</c>: on first start, a <c>dev</c> org and API key, written (0600) to
/// <c>$XDG_CONFIG_HOME/dedalus/dev.env</c> (default <c>~/.config/dedalus/dev.env</c>) as
/// <c>DEDALUS_BASE_URL</c>, <c>DEDALUS_API_KEY</c> and <c>DEDALUS_ORG_ID</c> lines, where the CLI finds them.
/// Later starts keep the key and only refresh the base URL.
/// </summary>
public static class DevCredentials
{
    public static string FilePath
    {
        get
        {
            var config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
            return Path.Combine(config, "dedalus", "dev.env");
        }
    }

    public static async Task<string> EnsureAsync(ApiKeys apiKeys, string baseUrl, string path, CancellationToken cancellationToken = default)
    {
        var values = File.Exists(path) ? Parse(await File.ReadAllLinesAsync(path, cancellationToken).ConfigureAwait(false)) : [];
        string? orgId = null;
        if (values.TryGetValue("DEDALUS_API_KEY", out var existingKey))
        {
            orgId = await apiKeys.ResolveAsync(existingKey, cancellationToken).ConfigureAwait(false);
        }

        if (orgId is null)
        {
            (existingKey, orgId) = await apiKeys.CreateAsync("dev", cancellationToken).ConfigureAwait(false);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var text = $"DEDALUS_BASE_URL={baseUrl}\nDEDALUS_API_KEY={existingKey}\nDEDALUS_ORG_ID={orgId}\n";
        var temporary = path + ".tmp";
        await using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        await using (var writer = new StreamWriter(stream))
        {
            await writer.WriteAsync(text.AsMemory(), cancellationToken).ConfigureAwait(false);
        }

        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, path, overwrite: true);
        return orgId;
    }

    private static Dictionary<string, string> Parse(IEnumerable<string> lines)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values[line[..eq].Trim()] = line[(eq + 1)..].Trim();
            }
        }

        return values;
    }
}
