using Dedalus.Server.Store.Sqlite;
using Microsoft.Data.Sqlite;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// The <c>ssh_connections</c> audit as it is on disk, read from the database file on a connection of its own (the store
/// has no read of it: nothing in the server lists it yet).
/// </summary>
public static class ConnectionAuditRows
{
    /// <summary>One audit row: its machine, when its connection ended (Unix ms) and its detail.</summary>
    public sealed record Row(string MachineId, long EndedAt, string? Detail);

    public static async Task<IReadOnlyList<Row>> ReadAsync(string dataDirectory)
    {
        await using var connection = Open(dataDirectory, SqliteOpenMode.ReadOnly);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT machine_id, ended_at, detail FROM ssh_connections ORDER BY id";
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<Row>();
        while (await reader.ReadAsync())
        {
            rows.Add(new Row(reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return rows;
    }

    /// <summary>A connection to the database file of <paramref name="dataDirectory"/>, not pooled (so a test can go on to delete the file).</summary>
    public static SqliteConnection Open(string dataDirectory, SqliteOpenMode mode) =>
        new(new SqliteConnectionStringBuilder { DataSource = SqliteStore.DatabasePath(dataDirectory), Mode = mode, Pooling = false }.ToString());
}
