using Microsoft.Data.Sqlite;

namespace Dedalus.Server.Store.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. Writes go through one long-lived connection behind a
/// gate (SQLite has one writer anyway; queuing in-process avoids busy retries) with prepared, reused
/// commands; reads take a pooled connection per operation and run concurrently with the writer.
/// </summary>
public sealed partial class SqliteStore : IStore, IAsyncDisposable, IDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> _writeCommands = new(StringComparer.Ordinal);
    private SqliteConnection? _writer;
    private Timer? _checkpointTimer;
    private int _checkpointing;

    private SqliteStore(string connectionString)
    {
        _connectionString = connectionString;
    }

    /// <summary>The database file of a data directory.</summary>
    public static string DatabasePath(string dataDirectory) => Path.Combine(dataDirectory, "dedalus.db");

    /// <summary>Opens (creating if needed) <c>dedalus.db</c> in <paramref name="dataDirectory"/> and applies pending migrations.</summary>
    public static async Task<SqliteStore> OpenAsync(string dataDirectory, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(dataDirectory);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath(dataDirectory),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        };
        var store = new SqliteStore(builder.ToString());
        var writer = new SqliteConnection(store._connectionString);
        await writer.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=0;", cancellationToken).ConfigureAwait(false);
        await SqliteMigrator.ApplyAsync(writer, cancellationToken).ConfigureAwait(false);
        store._writer = writer;

        // Commits never run a checkpoint (whose fsync would stall the writer); a timer checkpoints
        // from another connection, concurrently with writes.
        store._checkpointTimer = new Timer(static s => ((SqliteStore)s!).Checkpoint(), store, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
        var dbFile = builder.DataSource;
        foreach (var file in new[] { dbFile, dbFile + "-wal", dbFile + "-shm" })
        {
            if (File.Exists(file))
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        return store;
    }

    private void Checkpoint()
    {
        if (Interlocked.Exchange(ref _checkpointing, 1) != 0)
        {
            return;
        }

        try
        {
            using var connection = new SqliteConnection(_connectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
            command.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            // Busy or closing: the next tick tries again.
        }
        finally
        {
            Volatile.Write(ref _checkpointing, 0);
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    /// <summary>Runs <paramref name="work"/> on the writer connection, alone.</summary>
    private async Task<T> WriteAsync<T>(Func<WriteScope, T> work, bool transaction, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var writer = _writer ?? throw new ObjectDisposedException(nameof(SqliteStore));
            if (!transaction)
            {
                return work(new WriteScope(this, writer, null));
            }

            using var tx = writer.BeginTransaction();
            var result = work(new WriteScope(this, writer, tx));
            tx.Commit();
            return result;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private SqliteCommand Prepared(SqliteConnection writer, string sql)
    {
        if (!_writeCommands.TryGetValue(sql, out var command))
        {
            command = writer.CreateCommand();
            command.CommandText = sql;
            _writeCommands[sql] = command;
        }

        return command;
    }

    /// <summary>Access to prepared commands on the writer while the gate is held.</summary>
    private readonly struct WriteScope(SqliteStore store, SqliteConnection connection, SqliteTransaction? transaction)
    {
        public SqliteCommand Command(string sql, params object?[] values)
        {
            var command = store.Prepared(connection, sql);
            command.Transaction = transaction;
            Bind(command, values);
            return command;
        }

        public int Execute(string sql, params object?[] values) => Command(sql, values).ExecuteNonQuery();

        public object? Scalar(string sql, params object?[] values) => Command(sql, values).ExecuteScalar();
    }

    /// <summary>Binds positional values to <c>$1..$n</c>, reusing the parameters of a prepared command.</summary>
    private static void Bind(SqliteCommand command, object?[] values)
    {
        if (command.Parameters.Count != values.Length)
        {
            command.Parameters.Clear();
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters.Add(new SqliteParameter("$" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), values[i] ?? DBNull.Value));
            }

            return;
        }

        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }

    private static SqliteCommand ReadCommand(SqliteConnection connection, string sql, params object?[] values)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        Bind(command, values);
        return command;
    }

    private static long Ms(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    private static long? Ms(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();

    public async ValueTask DisposeAsync()
    {
        if (_checkpointTimer is not null)
        {
            await _checkpointTimer.DisposeAsync().ConfigureAwait(false);
            _checkpointTimer = null;
        }

        await _writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var command in _writeCommands.Values)
            {
                await command.DisposeAsync().ConfigureAwait(false);
            }

            _writeCommands.Clear();
            if (_writer is not null)
            {
                await _writer.DisposeAsync().ConfigureAwait(false);
                _writer = null;
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
