using System.Globalization;
using System.Text;

namespace Dedalus.Testing.Postgres;

/// <summary>
/// A real PostgreSQL 15 (Debian's packages) for tests: its own cluster in a temporary directory, listening on a free
/// 127.0.0.1 port and a unix socket inside that directory. initdb refuses root, so every PostgreSQL tool runs as the
/// <c>postgres</c> OS user (<c>runuser</c>), on a directory chowned to it. Authentication is <c>trust</c> for loopback
/// only: a throw-away cluster nobody else can reach. Settings trade durability for speed (fsync off). Each test takes
/// a fresh database (<see cref="CreateDatabaseAsync"/>). A failure carries the server's log.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>Where Debian puts the PostgreSQL 15 server programs (package postgresql-15).</summary>
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    /// <summary>The superuser of the test cluster (also the OS user the tools run as).</summary>
    public const string User = "postgres";

    private const string DirectoryPrefix = "dedalus-pg-";
    private const string OwnerFile = "owner";
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(90);

    private int _databases;
    private int _disposed;

    private PostgresServer(string directory, int port)
    {
        Directory = directory;
        Port = port;
    }

    /// <summary>The cluster's temporary directory (data, socket and log below it).</summary>
    public string Directory { get; }

    public int Port { get; }

    public string DataDirectory => Path.Combine(Directory, "data");

    public string SocketDirectory => Path.Combine(Directory, "socket");

    public string LogFile => Path.Combine(Directory, "postgres.log");

    /// <summary>Whether the server is up (started and not stopped since).</summary>
    public bool IsRunning { get; private set; }

    /// <summary>Creates a cluster in a new temporary directory and starts it; first stops clusters that killed test runs left behind.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        if (!File.Exists(Path.Combine(BinDirectory, "initdb")))
        {
            throw new InvalidOperationException($"PostgreSQL 15 is not installed ({BinDirectory}/initdb is missing): install the postgresql-15 package (./test installs it)");
        }

        await StopStaleClustersAsync();
        var directory = System.IO.Directory.CreateTempSubdirectory(DirectoryPrefix).FullName;
        await File.WriteAllTextAsync(Path.Combine(directory, OwnerFile), OwnerMark(Environment.ProcessId) ?? string.Empty);
        var server = new PostgresServer(directory, FreePort.Next());
        try
        {
            await server.InitializeClusterAsync();
            await server.StartAgainAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the server (<c>pg_ctl stop -m fast</c>): connections are cut, the data stays for <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        await RunToolAsync("pg_ctl", "stop", "-D", DataDirectory, "-m", "fast", "-w", "-t", "60");
        IsRunning = false;
    }

    /// <summary>Starts the server on the same data directory and port (after <see cref="StopAsync"/>, or first from <see cref="StartAsync"/>).</summary>
    public async Task StartAgainAsync()
    {
        await RunToolAsync("pg_ctl", "start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-s");
        IsRunning = true;
    }

    /// <summary>Creates a new empty database (a fresh name unless given) and returns its Npgsql connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= string.Create(CultureInfo.InvariantCulture, $"test_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}");
        if (name.Length > 63 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            throw new ArgumentException($"'{name}': a test database name is 1 to 63 of a-z, 0-9 and _", nameof(name));
        }

        await RunToolAsync("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", SocketDirectory, "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-U", User, "-d", "postgres", "-c", $"CREATE DATABASE {name}");
        return ConnectionString(name);
    }

    /// <summary>The Npgsql connection string of <paramref name="database"/> (TCP on loopback, no password: trust).</summary>
    public string ConnectionString(string database) =>
        string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={Port};Database={database};Username={User}");

    /// <summary>The <c>postgres://</c> URL of <paramref name="database"/>, as an operator gives it to <c>--database</c>.</summary>
    public string ConnectionUrl(string database) => string.Create(CultureInfo.InvariantCulture, $"postgres://{User}@127.0.0.1:{Port}/{database}");

    /// <summary>The database name of a connection string <see cref="CreateDatabaseAsync"/> returned.</summary>
    public static string DatabaseOf(string connectionString) =>
        connectionString.Split(';').Select(p => p.Split('=', 2)).Single(p => p[0] == "Database")[1];

    /// <summary>The server's log so far (for failure messages).</summary>
    public string ReadLog()
    {
        try
        {
            return File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log yet)";
        }
        catch (IOException e)
        {
            return $"(log unreadable: {e.Message})";
        }
    }

    /// <summary>Stops the server at once (immediate mode; the cluster is thrown away) and removes its directory. Never throws.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await ForceStopAsync(DataDirectory);
        IsRunning = false;
        TryDelete(Directory);
    }

    private async Task InitializeClusterAsync()
    {
        // The tools run as postgres: it must own the directory (made 0700 by CreateTempSubdirectory, so still private).
        System.IO.Directory.CreateDirectory(SocketDirectory);
        await ChownAsync(Directory);
        await RunToolAsync("initdb", "-D", DataDirectory, "-U", User, "-E", "UTF8", "--locale=C", "--no-sync", "--auth-local=trust", "--auth-host=trust");

        // Loopback only, trust: the cluster lives for one test run and nothing beyond this host can reach it.
        await File.WriteAllTextAsync(Path.Combine(DataDirectory, "pg_hba.conf"), """
            local all all trust
            host all all 127.0.0.1/32 trust

            """);
        var settings = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"port = {Port}")
            .AppendLine("listen_addresses = '127.0.0.1'")
            .AppendLine(CultureInfo.InvariantCulture, $"unix_socket_directories = '{SocketDirectory}'")
            .AppendLine("max_connections = 300")
            .AppendLine("shared_buffers = 32MB")
            .AppendLine("fsync = off")
            .AppendLine("synchronous_commit = off")
            .AppendLine("full_page_writes = off")
            .AppendLine("max_wal_size = 1GB")
            .AppendLine("log_min_messages = warning")
            .AppendLine("log_line_prefix = '%m [%p] %d '");
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), settings.ToString());
        await ChownAsync(Directory);
    }

    private async Task RunToolAsync(string tool, params string[] arguments)
    {
        ProcessResult result;
        try
        {
            result = await ProcessRunner.RunAsync("runuser", ["-u", User, "--", Path.Combine(BinDirectory, tool), .. arguments], timeout: ToolTimeout);
        }
        catch (TimeoutException e)
        {
            throw new InvalidOperationException($"PostgreSQL {tool} {string.Join(' ', arguments)} did not finish\n--- server log ---\n{ReadLog()}", e);
        }

        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"PostgreSQL {tool} {string.Join(' ', arguments)} failed: {result}\n--- server log ---\n{ReadLog()}");
        }
    }

    private static async Task ChownAsync(string path)
    {
        var result = await ProcessRunner.RunAsync("chown", "-R", $"{User}:{User}", path);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"chown of the PostgreSQL test directory failed: {result}");
        }
    }

    /// <summary>Stops the cluster in <paramref name="dataDirectory"/> if one runs: pg_ctl immediate, else SIGKILL to its postmaster.</summary>
    private static async Task ForceStopAsync(string dataDirectory)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return;
        }

        try
        {
            await ProcessRunner.RunAsync(
                "runuser", ["-u", User, "--", Path.Combine(BinDirectory, "pg_ctl"), "stop", "-D", dataDirectory, "-m", "immediate", "-w", "-t", "30"],
                timeout: ToolTimeout);
        }
        catch (TimeoutException)
        {
            // Killed below.
        }

        // The postmaster's pid is the file's first line; its children end when it does.
        if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 1
            && File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains("postgres", StringComparison.Ordinal))
        {
            try
            {
                using var postmaster = System.Diagnostics.Process.GetProcessById(pid);
                postmaster.Kill(entireProcessTree: true);
                await postmaster.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
            {
                // Gone meanwhile, or not ours to kill.
            }
        }
    }

    /// <summary>
    /// Clusters of earlier test runs that were killed before their clean-up: a directory of ours whose owner (pid and
    /// start time of the test process) is gone. Their servers are stopped and their directories removed.
    /// </summary>
    private static async Task StopStaleClustersAsync()
    {
        foreach (var directory in System.IO.Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            var owner = Path.Combine(directory, OwnerFile);
            string mark;
            try
            {
                mark = File.Exists(owner) ? File.ReadAllText(owner) : string.Empty;
            }
            catch (IOException)
            {
                continue;
            }

            var pid = int.TryParse(mark.Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 0;
            if (pid > 0 && OwnerMark(pid) == mark)
            {
                continue; // its test run is still alive
            }

            await ForceStopAsync(Path.Combine(directory, "data"));
            TryDelete(directory);
        }
    }

    /// <summary>"pid starttime" of a live process (start time from /proc, so a reused pid does not match); null when it is gone.</summary>
    private static string? OwnerMark(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command (which may hold spaces) start after the last ')'; starttime is field 22.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return string.Create(CultureInfo.InvariantCulture, $"{pid} {fields[19]}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A later run's stale sweep removes it.
        }
    }
}
