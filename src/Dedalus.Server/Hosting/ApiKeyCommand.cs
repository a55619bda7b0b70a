using Dedalus.Server.Auth;
using Dedalus.Server.Store;

namespace Dedalus.Server.Hosting;

/// <summary><c>dedalus-server apikey create --data-dir DIR --org NAME</c>: prints a new API key once.</summary>
public static class ApiKeyCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length < 2 || args[0] != "apikey" || args[1] != "create")
        {
            await error.WriteLineAsync("usage: dedalus-server apikey create --data-dir DIR --org NAME").ConfigureAwait(false);
            return 2;
        }

        string? dataDirectory = Environment.GetEnvironmentVariable("DEDALUS_DATA_DIR");
        string? org = null;
        for (var i = 2; i < args.Length; i++)
        {
            var (name, value) = args[i].Contains('=', StringComparison.Ordinal)
                ? (args[i][..args[i].IndexOf('=', StringComparison.Ordinal)], args[i][(args[i].IndexOf('=', StringComparison.Ordinal) + 1)..])
                : (args[i], i + 1 < args.Length ? args[++i] : null);
            switch (name)
            {
                case "--data-dir":
                    dataDirectory = value;
                    break;
                case "--org":
                    org = value;
                    break;
                default:
                    await error.WriteLineAsync($"unknown option {name}").ConfigureAwait(false);
                    return 2;
            }
        }

        if (string.IsNullOrWhiteSpace(dataDirectory) || string.IsNullOrWhiteSpace(org))
        {
            await error.WriteLineAsync("--data-dir and --org are required").ConfigureAwait(false);
            return 2;
        }

        await using var store = await SqliteStore.OpenAsync(Path.GetFullPath(dataDirectory)).ConfigureAwait(false);
        var (key, orgId) = await new ApiKeys(store, TimeProvider.System).CreateAsync(org).ConfigureAwait(false);
        await output.WriteLineAsync(key).ConfigureAwait(false);
        await error.WriteLineAsync($"org {org} ({orgId}): store this key now, it is not shown again").ConfigureAwait(false);
        return 0;
    }
}
