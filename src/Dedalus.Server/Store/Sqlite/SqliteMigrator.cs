using Microsoft.Data.Sqlite;

namespace Dedalus.Server.Store.Sqlite;

/// <summary>
/// Applies the SQL migrations embedded from <c>Store/Sqlite/Migrations/NNNN_name.sql</c> in order, each in its own
/// transaction, recording applied versions in <c>schema_migrations</c>.
/// </summary>
internal static class SqliteMigrator
{
    private const string ResourcePrefix = "Dedalus.Server.Store.Sqlite.Migrations.";

    public static IReadOnlyList<(int Version, string Name, string Sql)> LoadMigrations() => EmbeddedMigrations.Load(ResourcePrefix);

    public static async Task ApplyAsync(SqliteConnection connection, CancellationToken cancellationToken = default)
    {
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)";
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var applied = new HashSet<long>();
        await using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT version FROM schema_migrations";
            await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetInt64(0));
            }
        }

        foreach (var (version, name, sql) in LoadMigrations())
        {
            if (applied.Contains(version))
            {
                continue;
            }

            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var migrate = connection.CreateCommand())
            {
                migrate.Transaction = tx;
                migrate.CommandText = sql;
                await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var record = connection.CreateCommand())
            {
                record.Transaction = tx;
                record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($v, $n, $t)";
                record.Parameters.AddWithValue("$v", version);
                record.Parameters.AddWithValue("$n", name);
                record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
