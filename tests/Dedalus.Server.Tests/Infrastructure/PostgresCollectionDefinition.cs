using Dedalus.Testing.Postgres;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>The PostgreSQL cluster shared by this project's PostgreSQL tests (one after another: one may stop it).</summary>
[CollectionDefinition(PostgresCollection.Name)]
public sealed class PostgresCollectionDefinition : ICollectionFixture<PostgresFixture>;
