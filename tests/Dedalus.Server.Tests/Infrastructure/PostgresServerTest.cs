using Dedalus.Testing.Postgres;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// The database of a <see cref="ServerTestBase"/> class run on PostgreSQL: one new database of the shared cluster per
/// test, created at the server's first start and reused by its restarts. A subclass passes its fixture and returns
/// <see cref="DatabaseAsync"/> from its override.
/// </summary>
public sealed class PostgresServerTest(PostgresFixture postgres)
{
    private string? _database;

    /// <summary>The test's database as a <c>postgres://</c> URL (the form an operator gives <c>--database</c>).</summary>
    public async Task<string?> DatabaseAsync() =>
        _database ??= postgres.Server.ConnectionUrl(PostgresServer.DatabaseOf(await postgres.Server.CreateDatabaseAsync()));

    public PostgresServer Server => postgres.Server;
}
