using Dedalus.Server.Store;
using Dedalus.Server.Store.Sqlite;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.Data.Sqlite;

namespace Dedalus.Server.Tests;

/// <summary>Migration 0005 on a database that already holds audit rows: the per-machine counts start from them.</summary>
public sealed class ConnectionAuditMigrationTests : IDisposable
{
    private readonly TempDirectory _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task Rows_written_before_the_migration_count_toward_their_machines_cap()
    {
        // A database as version 4 left it: the store's tables without 0005's index, counts and triggers.
        await (await SqliteStore.OpenAsync(_data.Path)).DisposeAsync();
        SqliteConnection.ClearAllPools();
        await using (var connection = ConnectionAuditRows.Open(_data.Path, SqliteOpenMode.ReadWrite))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText =
                "DROP TRIGGER ssh_connections_counted; DROP TRIGGER ssh_connections_uncounted; DROP TABLE ssh_connection_counts; " +
                "DROP INDEX ssh_connections_ended; DELETE FROM schema_migrations WHERE version = 5; " +
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30) " +
                "INSERT INTO ssh_connections (machine_id, peer, started_at, ended_at, bytes_in, bytes_out, end_reason) " +
                "SELECT CASE WHEN i <= 20 THEN 'dm-a' ELSE 'dm-b' END, '127.0.0.1:1', i, i, 0, 0, 'auth_failed' FROM n;";
            await command.ExecuteNonQueryAsync();
        }

        await using var store = await SqliteStore.OpenAsync(_data.Path);
        var trim = await store.TrimConnectionsAsync(DateTimeOffset.FromUnixTimeMilliseconds(0), perMachine: 15, batch: 100);

        Assert.Equal(new ConnectionAuditTrim(5, 0), trim);
        var rows = await ConnectionAuditRows.ReadAsync(_data.Path);
        Assert.Equal(Enumerable.Range(6, 15).Select(i => (long)i), rows.Where(r => r.MachineId == "dm-a").Select(r => r.EndedAt));
        Assert.Equal(10, rows.Count(r => r.MachineId == "dm-b"));
    }
}
