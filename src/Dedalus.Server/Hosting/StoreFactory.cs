using System.Data.Common;
using Dedalus.Server.Store;
using Dedalus.Server.Store.Postgres;
using Dedalus.Server.Store.Sqlite;

namespace Dedalus.Server.Hosting;

/// <summary>
/// Opens the store <see cref="ServerOptions.Database"/> names: SQLite in the data directory (null, the default) or
/// PostgreSQL. The server and the admin commands (<c>apikey</c>, <c>quota</c>) open theirs here, so all read the same
/// setting the same way.
/// </summary>
public static class StoreFactory
{
    /// <summary>What <c>--database</c> accepts, for messages and help.</summary>
    public const string Expected =
        "sqlite, a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL (postgresql:// too) or an Npgsql connection string such as Host=HOST;Database=DATABASE;Username=USER";

    /// <summary>libpq URL parameters and the Npgsql keys they mean; any other parameter is passed as it is (Npgsql checks it).</summary>
    private static readonly Dictionary<string, string> UrlParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["connect_timeout"] = "Timeout",
        ["application_name"] = "Application Name",
        ["target_session_attrs"] = "Target Session Attributes",
        ["options"] = "Options",
    };

    /// <summary>
    /// Parses a <c>--database</c> value: <c>sqlite</c> gives null (the embedded default); a <c>postgres://</c> or
    /// <c>postgresql://</c> URL or an Npgsql key=value string gives the Npgsql connection string. <paramref name="problem"/>
    /// never repeats the value: it may hold a password.
    /// </summary>
    public static bool TryParse(string text, out string? connectionString, out string problem)
    {
        connectionString = null;
        problem = string.Empty;
        text = text.Trim();
        if (text.Equals("sqlite", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (text.Contains("://", StringComparison.Ordinal))
        {
            return TryParseUrl(text, out connectionString, out problem);
        }

        if (!text.Contains('=', StringComparison.Ordinal))
        {
            problem = "it is neither sqlite, a URL nor key=value pairs";
            return false;
        }

        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = text;
        }
        catch (ArgumentException)
        {
            problem = "its key=value pairs do not parse (quote a value that holds ';' or '=')";
            return false;
        }

        if (!builder.ContainsKey("Host") && !builder.ContainsKey("Server"))
        {
            problem = "it names no Host";
            return false;
        }

        connectionString = builder.ConnectionString;
        return true;
    }

    /// <summary>Where the store is, for messages and logs: the SQLite file, or PostgreSQL's host:port/database (never a password).</summary>
    public static string Describe(string? database, string dataDirectory) =>
        database is null ? SqliteStore.DatabasePath(dataDirectory) : "postgresql " + PostgresStore.Describe(database);

    /// <summary>Opens (and migrates) the store.</summary>
    /// <exception cref="StoreUnavailableException">PostgreSQL cannot be reached.</exception>
    /// <exception cref="ArgumentException">PostgreSQL refuses the connection string (an unknown key, a bad value).</exception>
    public static async Task<IStore> OpenAsync(string? database, string dataDirectory, CancellationToken cancellationToken = default) =>
        database is null
            ? await SqliteStore.OpenAsync(dataDirectory, cancellationToken).ConfigureAwait(false)
            : await PostgresStore.OpenAsync(database, cancellationToken).ConfigureAwait(false);

    /// <summary>Closes a store <see cref="OpenAsync"/> opened (both implementations hold connections).</summary>
    public static ValueTask CloseAsync(IStore store) => store is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>
    /// An admin command's store: <paramref name="database"/> (its <c>--database</c>, else <c>DEDALUS_DATABASE</c>), else
    /// SQLite in <paramref name="dataDirectory"/>, which must already hold a server's database (a command never creates
    /// one there). Null when it cannot be opened; the reason is then one line on <paramref name="error"/> and
    /// the exit code says 2 (a bad value) or 1 (no database, unreachable).
    /// </summary>
    internal static async Task<(IStore? Store, int ExitCode)> OpenForCommandAsync(
        string? database, string dataDirectory, TextWriter error, string subcommand, CancellationToken cancellationToken)
    {
        var (text, source) = database is { Length: > 0 } given ? (given, "--database")
            : Environment.GetEnvironmentVariable("DEDALUS_DATABASE") is { Length: > 0 } fromEnvironment ? (fromEnvironment, "DEDALUS_DATABASE")
            : ("sqlite", "--database");
        if (!TryParse(text, out var connectionString, out var problem))
        {
            return (null, ServerCommand.Usage(error, $"{source} must be {Expected}: {problem}", subcommand));
        }

        if (connectionString is null && !File.Exists(SqliteStore.DatabasePath(dataDirectory)))
        {
            await error.WriteLineAsync(
                $"dedalus-server: no server database in {dataDirectory}: start dedalus-server once with --data-dir {dataDirectory}, or check the path (or give --database)").ConfigureAwait(false);
            return (null, ServerCommand.ExitFailure);
        }

        try
        {
            return (await OpenAsync(connectionString, dataDirectory, cancellationToken).ConfigureAwait(false), ServerCommand.ExitOk);
        }
        catch (ArgumentException ex)
        {
            return (null, ServerCommand.Usage(error, $"{source}: PostgreSQL refuses the connection string: {ex.Message}", subcommand));
        }
        catch (StoreUnavailableException ex)
        {
            await error.WriteLineAsync($"dedalus-server: cannot reach the database {Describe(connectionString, dataDirectory)}: {ex.Message}").ConfigureAwait(false);
            return (null, ServerCommand.ExitFailure);
        }
    }

    /// <summary>An admin command's <c>--database</c> option (as the server's; env DEDALUS_DATABASE).</summary>
    internal static System.CommandLine.Option<string?> DatabaseOption() => new("--database")
    {
        Description = "The server's database when it is not SQLite in the data directory: a postgres:// URL or an Npgsql connection string (env DEDALUS_DATABASE) [default: sqlite]",
        HelpName = "URL|sqlite",
    };

    /// <summary>A store an admin command opened, closed when disposed.</summary>
    internal sealed class OwnedStore(IStore store) : IAsyncDisposable
    {
        public IStore Store { get; } = store;

        public ValueTask DisposeAsync() => CloseAsync(Store);
    }

    private static bool TryParseUrl(string text, out string? connectionString, out string problem)
    {
        connectionString = null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgres" or "postgresql"))
        {
            problem = "a URL must be postgres://USER:PASSWORD@HOST:PORT/DATABASE";
            return false;
        }

        if (uri.Host.Length == 0)
        {
            problem = "the URL names no host";
            return false;
        }

        var builder = new DbConnectionStringBuilder { ["Host"] = uri.Host.Trim('[', ']') };
        if (!uri.IsDefaultPort && uri.Port > 0)
        {
            builder["Port"] = uri.Port;
        }

        if (Uri.UnescapeDataString(uri.AbsolutePath.Trim('/')) is { Length: > 0 } name)
        {
            if (name.Contains('/', StringComparison.Ordinal))
            {
                problem = "the URL's path must be one database name";
                return false;
            }

            builder["Database"] = name;
        }

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder["Username"] = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder["Password"] = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = pair.IndexOf('=', StringComparison.Ordinal) is var eq and >= 0
                ? (Uri.UnescapeDataString(pair[..eq]), Uri.UnescapeDataString(pair[(eq + 1)..]))
                : (Uri.UnescapeDataString(pair), string.Empty);
            if (key.Length == 0 || key.Contains(';', StringComparison.Ordinal))
            {
                problem = "the URL has a parameter without a name";
                return false;
            }

            builder[UrlParameters.GetValueOrDefault(key, key)] = value;
        }

        connectionString = builder.ConnectionString;
        problem = string.Empty;
        return true;
    }
}
