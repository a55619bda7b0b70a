using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing.Postgres;

namespace Dedalus.Server.Tests;

// The API behaviours that lean on the store the most, run again with the server on PostgreSQL (--database): idempotency
// keys, ETag revisions and paging cursors (machines), the status stream, SSH sessions (admission, revocation).

/// <summary><see cref="IdempotencyTests"/> with the server on PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class IdempotencyTestsOnPostgres(PostgresFixture postgres) : IdempotencyTests
{
    private readonly PostgresServerTest _postgres = new(postgres);

    protected override Task<string?> DatabaseAsync() => _postgres.DatabaseAsync();
}

/// <summary><see cref="MachinesApiTests"/> (revisions, If-Match, paging) with the server on PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MachinesApiTestsOnPostgres(PostgresFixture postgres) : MachinesApiTests
{
    private readonly PostgresServerTest _postgres = new(postgres);

    protected override Task<string?> DatabaseAsync() => _postgres.DatabaseAsync();
}

/// <summary><see cref="StatusStreamTests"/> with the server on PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StatusStreamTestsOnPostgres(PostgresFixture postgres) : StatusStreamTests
{
    private readonly PostgresServerTest _postgres = new(postgres);

    protected override Task<string?> DatabaseAsync() => _postgres.DatabaseAsync();
}

/// <summary><see cref="SshSessionsTests"/> with the server on PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SshSessionsTestsOnPostgres(PostgresFixture postgres) : SshSessionsTests
{
    private readonly PostgresServerTest _postgres = new(postgres);

    protected override Task<string?> DatabaseAsync() => _postgres.DatabaseAsync();
}
