using Dedalus.Testing;
using Dedalus.Testing.Postgres;

namespace Dedalus.Server.Tests.Store;

/// <summary>The test cluster itself: what every PostgreSQL test relies on (psql as the client).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresServerTests(PostgresFixture postgres)
{
    [Fact]
    public async Task A_created_database_answers_on_loopback_and_keeps_its_rows_across_a_stop_and_start()
    {
        var server = postgres.Server;
        var database = PostgresServer.DatabaseOf(await server.CreateDatabaseAsync());

        Assert.Equal(0, (await PsqlAsync(database, "CREATE TABLE t (v int); INSERT INTO t VALUES (42);")).ExitCode);
        await server.StopAsync();
        var whileStopped = await PsqlAsync(database, "SELECT v FROM t");
        await server.StartAgainAsync();
        var after = await PsqlAsync(database, "SELECT v FROM t");

        Assert.NotEqual(0, whileStopped.ExitCode);
        Assert.Equal("42", after.StandardOutput.Trim());
        Assert.StartsWith($"postgres://postgres@127.0.0.1:{server.Port}/", server.ConnectionUrl(database), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_created_database_is_a_new_empty_one()
    {
        var first = PostgresServer.DatabaseOf(await postgres.Server.CreateDatabaseAsync());
        var second = PostgresServer.DatabaseOf(await postgres.Server.CreateDatabaseAsync());

        Assert.NotEqual(first, second);
        var tables = await PsqlAsync(second, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
        Assert.Equal("0", tables.StandardOutput.Trim());
    }

    /// <summary>psql over TCP on 127.0.0.1 (as the store connects), unaligned tuples only.</summary>
    private Task<ProcessResult> PsqlAsync(string database, string sql) =>
        ProcessRunner.RunAsync(
            "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", postgres.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-U", PostgresServer.User, "-d", database, "-c", sql);
}
