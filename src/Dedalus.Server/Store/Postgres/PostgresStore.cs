using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;

namespace Dedalus.Server.Store.Postgres;

/// <summary>
/// The shared store: one PostgreSQL database that several server processes use at once, through a pooled
/// <see cref="NpgsqlDataSource"/>. Callers cannot tell it from <see cref="Sqlite.SqliteStore"/>.
/// </summary>
/// <remarks>
/// <para>
/// Concurrency. SQLite has one writer, so every write of the SQLite store sees the database as nothing else changes it.
/// PostgreSQL runs writes at once, from any number of processes; this store keeps the same guarantees with READ
/// COMMITTED transactions (every statement sees what committed before it started) and three kinds of lock, each taken
/// by a transaction's first statement, before any row lock, always in this order (so they cannot deadlock):
/// </para>
/// <list type="number">
/// <item>the org lock (<c>pg_advisory_xact_lock(hashtextextended('org:' || id, 0))</c>): every write that runs an
/// admission check, or adds what one counts (a machine, a session, an execution) or changes an org's limits. Two creates
/// for one org queue on it, so the second one's check reads the first one's committed row;</item>
/// <item>the machines lock (a global advisory lock): every machine insert (the lowest free gateway port, unique names,
/// the host-wide committed storage the admission reads), every machine update that runs an admission check, and every
/// update that moves a machine to another gateway port;</item>
/// <item>row locks, as UPDATE takes them: revisions are compare-and-swap (<c>WHERE id = $1 AND revision = $2</c>), an
/// execution's event sequence follows its row's <c>last_sequence</c>.</item>
/// </list>
/// <para>
/// Identity values are handed out at insert, not at commit, so a reader paging by <c>seq</c> could pass a row that
/// commits later with a lower one. Every listing that pages is within one org or machine, and rows of one org or machine
/// are inserted under its org lock (machines also under the machines lock; machine events under the machine's row
/// lock), so within a listing <c>seq</c> order is commit order, as in SQLite. Idempotency keys, session serials, org
/// names and revocations are unique keys written with <c>ON CONFLICT</c>; a machine name taken by a racing update is
/// the unique index <c>machines_org_name</c>, mapped to <see cref="MachineNameTakenException"/>.
/// </para>
/// <para>
/// Availability. A failure that means the database cannot be reached (refused or dropped connection, a server shutting
/// down or starting, a timeout) is <see cref="StoreUnavailableException"/>, and it empties the pool: after a database
/// restart every pooled connection is dead, and the next operation should open a new one rather than fail on the next
/// dead one. Nothing else becomes that exception.
/// </para>
/// </remarks>
public sealed partial class PostgresStore : IStore, IAsyncDisposable
{
    /// <summary>The first key of the store's global advisory locks (two-int keys; the org locks use the one-bigint keyspace).</summary>
    internal const int LockSpace = 0x44454441; // "DEDA"

    /// <summary>The second key of the global lock that machine inserts, admitted updates and port moves take.</summary>
    private const int MachinesLock = 1;

    /// <summary>Network address assignment: one at a time, so two processes never give one address twice.</summary>
    private const int NetworkLock = 2;

    /// <summary>Retention deletes (prune, audit trim, expired executions): one process at a time does them.</summary>
    private const int RetentionLock = 3;

    /// <summary>The recorded server settings: nodes starting together replace them one after the other.</summary>
    private const int SettingsLock = 4;

    /// <summary>Migrations: exactly one process applies them.</summary>
    internal const int MigrationLock = 0;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _description;
    private readonly SemaphoreSlim[] _orgGates = [.. Enumerable.Range(0, 256).Select(_ => new SemaphoreSlim(1, 1))];

    private PostgresStore(NpgsqlDataSource dataSource, string description)
    {
        _dataSource = dataSource;
        _description = description;
    }

    /// <summary>
    /// Opens a pooled data source on <paramref name="connectionString"/> (an Npgsql connection string, e.g.
    /// <c>Host=db;Port=5432;Database=dedalus;Username=dedalus;Password=...</c>) and applies pending migrations.
    /// </summary>
    /// <exception cref="ArgumentException">The connection string is not valid (the message never holds the password).</exception>
    /// <exception cref="StoreUnavailableException">The database cannot be reached.</exception>
    public static async Task<PostgresStore> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var settings = Parse(connectionString);
        var description = Describe(settings);
        NpgsqlDataSource dataSource;
        try
        {
            dataSource = new NpgsqlDataSourceBuilder(settings.ConnectionString).Build();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"the database connection string is not valid: {Scrub(e.Message, connectionString)}", nameof(connectionString));
        }

        var store = new PostgresStore(dataSource, description);
        try
        {
            await PostgresMigrator.ApplyAsync(dataSource, cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw new StoreUnavailableException($"the database at {description} is unreachable: {Reason(e)}", e);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The database a connection string names, as <c>host:port/database</c>, for logs and errors (never the password).</summary>
    public static string Describe(string connectionString)
    {
        try
        {
            return Describe(new NpgsqlConnectionStringBuilder(connectionString));
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            return "(an invalid connection string)";
        }
    }

    private static string Describe(NpgsqlConnectionStringBuilder settings) =>
        string.Create(CultureInfo.InvariantCulture, $"{settings.Host}:{settings.Port}/{settings.Database ?? settings.Username}");

    private static NpgsqlConnectionStringBuilder Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        NpgsqlConnectionStringBuilder settings;
        try
        {
            settings = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            throw new ArgumentException($"the database connection string is not valid: {Scrub(e.Message, connectionString)}", nameof(connectionString));
        }

        if (string.IsNullOrWhiteSpace(settings.Host))
        {
            throw new ArgumentException("the database connection string names no Host (e.g. Host=db.example;Database=dedalus;Username=dedalus)", nameof(connectionString));
        }

        if (!settings.Pooling)
        {
            throw new ArgumentException("the database connection string turns Pooling off; the store needs the pool", nameof(connectionString));
        }

        // Every statement of the store is fixed text: prepared once per connection, after its second use. Operators may
        // choose otherwise in the connection string.
        if (settings.MaxAutoPrepare == 0)
        {
            settings.MaxAutoPrepare = 64;
        }

        // A pool near the host's cores: more backends than cores only queue in the kernel (on 2 cores, 10 connections
        // served 1.4x the session creates of Npgsql's default 100). The store keeps no session state on a connection
        // (its locks are transaction locks; LISTEN has a pool of its own), so the reset statements Npgsql would run at
        // every return to the pool are skipped. Either may be set in the connection string.
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!Given(given, "Maximum Pool Size", "Max Pool Size", "MaxPoolSize"))
        {
            settings.MaxPoolSize = Math.Clamp(4 * Environment.ProcessorCount, 10, 64);
        }

        if (!Given(given, "No Reset On Close", "NoResetOnClose"))
        {
            settings.NoResetOnClose = true;
        }

        settings.ApplicationName ??= "dedalus-server";
        return settings;
    }

    private static bool Given(DbConnectionStringBuilder given, params string[] keys) => keys.Any(given.ContainsKey);

    /// <summary>The connection string's password never reaches a message: Npgsql's own texts may quote a bad value.</summary>
    private static string Scrub(string message, string connectionString)
    {
        foreach (Match match in PasswordValue().Matches(connectionString))
        {
            var value = match.Groups["value"].Value.Trim().Trim('"', '\'');
            if (value.Length > 0)
            {
                message = message.Replace(value, "***", StringComparison.Ordinal);
            }
        }

        return message;
    }

    [GeneratedRegex("(?:password|pwd)\\s*=\\s*(?<value>\"[^\"]*\"|'[^']*'|[^;]*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PasswordValue();

    /// <summary>
    /// Whether <paramref name="e"/> means the database cannot be reached right now: a connection refused, dropped or timed
    /// out (Npgsql marks those transient), or the server refusing connections while it shuts down or starts. A refusal
    /// of the statement itself (a constraint, a deadlock, a serialization failure) is not.
    /// </summary>
    internal static bool IsUnavailable(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal)
            || p.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
                or PostgresErrorCodes.TooManyConnections,
        NpgsqlException n => n.IsTransient || n.InnerException is SocketException or IOException or TimeoutException,
        SocketException or IOException or TimeoutException => true,
        _ => false,
    };

    /// <summary>The short reason of an unavailability: the socket's or server's words, not a stack of wrappers.</summary>
    private static string Reason(Exception e)
    {
        if (e is PostgresException p)
        {
            return $"{p.SqlState} {p.MessageText}";
        }

        var root = e;
        while (root.InnerException is not null && root is not SocketException)
        {
            root = root.InnerException;
        }

        return root switch
        {
            TimeoutException => "timed out",
            EndOfStreamException => "the connection was closed",
            _ => root.Message,
        };
    }

    /// <summary>Turns an unavailability into the store's exception, and empties the pool of connections that died with it.</summary>
    private StoreUnavailableException Unavailable(Exception e)
    {
        _dataSource.Clear();
        return new StoreUnavailableException($"the database at {_description} is unreachable: {Reason(e)}", e);
    }

    /// <summary>Runs <paramref name="read"/> on a pooled connection (autocommit: one statement, one snapshot).</summary>
    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await read(connection).ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>Runs one statement in autocommit and returns the rows it changed.</summary>
    private Task<int> ExecuteAsync(string sql, object?[] values, CancellationToken cancellationToken) =>
        ReadAsync(
            async connection =>
            {
                await using var command = Command(connection, sql, values);
                return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>Runs one statement in autocommit and returns its first value, null for no row or NULL.</summary>
    private Task<object?> ScalarAsync(string sql, object?[] values, CancellationToken cancellationToken) =>
        ReadAsync(
            async connection =>
            {
                await using var command = Command(connection, sql, values);
                var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                return value is DBNull ? null : value;
            },
            cancellationToken);

    /// <summary>
    /// Runs statements in one round trip without an explicit transaction: PostgreSQL runs the messages up to one Sync as
    /// one implicit transaction, so they commit together or not at all (and an advisory xact lock among them holds to the
    /// end). Returns the rows each changed.
    /// </summary>
    private Task<int[]> BatchAsync(NpgsqlBatchCommand[] statements, CancellationToken cancellationToken) =>
        ReadAsync(
            async connection =>
            {
                await using var batch = new NpgsqlBatch(connection);
                foreach (var statement in statements)
                {
                    batch.BatchCommands.Add(statement);
                }

                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return RecordsAffected(batch, 0);
            },
            cancellationToken);

    /// <summary>Reads every row of one statement.</summary>
    private Task<List<T>> QueryAsync<T>(string sql, object?[] values, Func<DbDataReader, T> read, CancellationToken cancellationToken) =>
        ReadAsync(
            async connection =>
            {
                await using var command = Command(connection, sql, values);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                var rows = new List<T>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    rows.Add(read(reader));
                }

                return rows;
            },
            cancellationToken);

    /// <summary>Reads the first row of one statement, if any.</summary>
    private async Task<T?> QuerySingleAsync<T>(string sql, object?[] values, Func<DbDataReader, T> read, CancellationToken cancellationToken)
        where T : class
    {
        var rows = await QueryAsync(sql, values, read, cancellationToken).ConfigureAwait(false);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <summary>
    /// A page of one statement that selects <c>seq</c> first, ordered by it, with <c>LIMIT limit + 1</c>: the extra row
    /// only says that more follow (the SQLite store's paging).
    /// </summary>
    private async Task<Page<T>> PageAsync<T>(string sql, object?[] values, int limit, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(sql, values, r => (Seq: r.GetInt64(0), Item: read(r)), cancellationToken).ConfigureAwait(false);
        var more = rows.Count > limit;
        var items = rows.Take(limit).Select(row => row.Item).ToList();
        return new Page<T>(items, more ? rows[limit - 1].Seq : null);
    }

    private Task<T> WriteAsync<T>(Func<WriteScope, Task<T>> work, CancellationToken cancellationToken) => WriteAsync(null, work, cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in one READ COMMITTED transaction and commits it; with <paramref name="org"/>, under the
    /// org's lock. The commit ignores cancellation: a caller that gives up once the work is done must not leave it
    /// unknown whether it committed.
    /// </summary>
    /// <remarks>
    /// Writes of one org queue in this process first (a gate per stripe of orgs), then on the org's advisory lock: a
    /// queue of them holds neither pooled connections nor database backends, and the lock passes between processes
    /// only, not between the requests of one.
    /// </remarks>
    private async Task<T> WriteAsync<T>(string? org, Func<WriteScope, Task<T>> work, CancellationToken cancellationToken)
    {
        var gate = org is null ? null : _orgGates[(int)((uint)StringComparer.Ordinal.GetHashCode(org) % (uint)_orgGates.Length)];
        if (gate is not null)
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
            var scope = new WriteScope(connection, transaction, cancellationToken);
            if (org is not null)
            {
                scope.LockOrg(org);
            }

            var result = await work(scope).ConfigureAwait(false);
            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            return result;
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
        finally
        {
            gate?.Release();
        }
    }

    /// <summary>The rows each statement of an executed batch changed, from statement <paramref name="from"/> on.</summary>
    private static int[] RecordsAffected(NpgsqlBatch batch, int from)
    {
        var rows = new int[batch.BatchCommands.Count - from];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = batch.BatchCommands[from + i].RecordsAffected;
        }

        return rows;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, object?[] values)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            command.Parameters.Add(Parameter(value));
        }

        return command;
    }

    private static NpgsqlBatchCommand Statement(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(Parameter(value));
        }

        return command;
    }

    /// <summary>A positional parameter (<c>$n</c>); a typed null from <see cref="Text"/> and its siblings, else inferred.</summary>
    private static NpgsqlParameter Parameter(object? value) => value switch
    {
        NpgsqlParameter parameter => parameter,
        null => new NpgsqlParameter { Value = DBNull.Value },
        _ => new NpgsqlParameter { Value = value },
    };

    // Typed parameters for values that may be null: the statement's prepared form keeps one parameter type.
    private static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Int8(long? value) => new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Int4(int? value) => new() { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Bool(bool? value) => new() { NpgsqlDbType = NpgsqlDbType.Boolean, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Bytes(byte[]? value) => new() { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)value ?? DBNull.Value };

    private static long Ms(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    private static NpgsqlParameter Ms(DateTimeOffset? value) => Int8(value?.ToUnixTimeMilliseconds());

    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        foreach (var gate in _orgGates)
        {
            gate.Dispose();
        }
    }

    /// <summary>
    /// One write transaction's statements. Locks (the org lock a write names, <see cref="LockGlobal"/>) are sent
    /// in front of the next statements, in the same round trip; so are statements given together (a batch).
    /// </summary>
    private sealed class WriteScope(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        private readonly List<NpgsqlBatchCommand> _pendingLocks = [];

        internal void LockOrg(string orgId) =>
            _pendingLocks.Add(Statement("SELECT FROM pg_advisory_xact_lock(hashtextextended($1, 0))", "org:" + orgId));

        public void LockGlobal(int which) =>
            _pendingLocks.Add(Statement("SELECT FROM pg_advisory_xact_lock($1, $2)", LockSpace, which));

        /// <summary>The given statements behind the pending locks.</summary>
        private NpgsqlBatch Batch(NpgsqlBatchCommand[] statements)
        {
            var batch = new NpgsqlBatch(connection, transaction);
            foreach (var statement in _pendingLocks)
            {
                batch.BatchCommands.Add(statement);
            }

            _pendingLocks.Clear();
            foreach (var statement in statements)
            {
                batch.BatchCommands.Add(statement);
            }

            return batch;
        }

        /// <summary>Runs the statements in one round trip; the rows each changed.</summary>
        public async Task<int[]> ExecuteAsync(params NpgsqlBatchCommand[] statements)
        {
            var skip = _pendingLocks.Count;
            var batch = Batch(statements);
            await using (batch.ConfigureAwait(false))
            {
                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return RecordsAffected(batch, skip);
            }
        }

        public async Task<int> ExecuteAsync(string sql, params object?[] values) => (await ExecuteAsync(Statement(sql, values)).ConfigureAwait(false))[0];

        /// <summary>Runs the statements in one round trip and reads the rows of the last one that returns columns.</summary>
        public async Task<List<T>> QueryAsync<T>(Func<DbDataReader, T> read, params NpgsqlBatchCommand[] statements)
        {
            var batch = Batch(statements);
            await using (batch.ConfigureAwait(false))
            {
                await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                var rows = new List<T>();
                do
                {
                    // Locks and writes without RETURNING have no columns.
                    if (reader.FieldCount == 0)
                    {
                        continue;
                    }

                    rows = [];
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        rows.Add(read(reader));
                    }
                }
                while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));

                return rows;
            }
        }

        /// <summary>The first value of the last statement's first row; null for no row or NULL.</summary>
        public async Task<object?> ScalarAsync(params NpgsqlBatchCommand[] statements)
        {
            var rows = await QueryAsync(r => r.IsDBNull(0) ? null : r.GetValue(0), statements).ConfigureAwait(false);
            return rows.Count > 0 ? rows[0] : null;
        }

        public Task<object?> ScalarAsync(string sql, params object?[] values) => ScalarAsync(Statement(sql, values));

        /// <summary>
        /// Runs an admission check on this transaction. The pending locks are taken first, asynchronously: the check's
        /// reads are synchronous (<see cref="IResourceReader"/> is), and a thread must not block while it waits for a
        /// lock that another write holds (many such threads would starve the pool that write needs to commit).
        /// </summary>
        public async Task AdmitAsync(Action<IResourceReader>? admit)
        {
            if (admit is null)
            {
                return;
            }

            if (_pendingLocks.Count > 0)
            {
                await ExecuteAsync().ConfigureAwait(false);
            }

            admit(new ResourceReader(Reader));
        }

        /// <summary>A synchronous read for <see cref="IResourceReader"/>, on this transaction: it sees what committed before the locks were granted.</summary>
        private NpgsqlDataReader Reader(string sql, object?[] values)
        {
            var reader = Batch([Statement(sql, values)]).ExecuteReader();
            while (reader.FieldCount == 0 && reader.NextResult())
            {
            }

            return reader;
        }
    }
}
