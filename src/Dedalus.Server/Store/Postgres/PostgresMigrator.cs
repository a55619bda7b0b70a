using Npgsql;

namespace Dedalus.Server.Store.Postgres;

/// <summary>
/// Applies the SQL migrations embedded from <c>Store/Postgres/Migrations/NNNN_name.sql</c> in order, each in its own
/// transaction, recording applied versions in <c>schema_migrations</c>. Every transaction first takes the store's
/// migration advisory lock (<c>pg_advisory_xact_lock</c>), so server processes that start at once against one database
/// queue on it: the first applies a migration, the others then find it recorded and skip it.
/// </summary>
internal static class PostgresMigrator
{
    private const string ResourcePrefix = "Dedalus.Server.Store.Postgres.Migrations.";

    public static IReadOnlyList<(int Version, string Name, string Sql)> LoadMigrations() => EmbeddedMigrations.Load(ResourcePrefix);

    public static async Task ApplyAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var applied = new HashSet<int>();
        await using (var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            await LockAsync(connection, tx, cancellationToken).ConfigureAwait(false);
            await using (var create = new NpgsqlCommand(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)", connection, tx))
            {
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var select = new NpgsqlCommand("SELECT version FROM schema_migrations", connection, tx))
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    applied.Add(reader.GetInt32(0));
                }
            }

            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var (version, name, sql) in LoadMigrations())
        {
            if (applied.Contains(version))
            {
                continue;
            }

            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await LockAsync(connection, tx, cancellationToken).ConfigureAwait(false);

            // Another process may have applied it while this one waited for the lock.
            await using (var check = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", connection, tx) { Parameters = { new() { Value = version } } })
            {
                if (await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
                {
                    continue;
                }
            }

            await using (var migrate = new NpgsqlCommand(sql, connection, tx))
            {
                await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", connection, tx))
            {
                record.Parameters.Add(new() { Value = version });
                record.Parameters.Add(new() { Value = name });
                record.Parameters.Add(new() { Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, $2)", connection, tx)
        {
            Parameters = { new() { Value = PostgresStore.LockSpace }, new() { Value = PostgresStore.MigrationLock } },
        };
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
