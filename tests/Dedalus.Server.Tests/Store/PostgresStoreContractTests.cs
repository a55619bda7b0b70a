using Dedalus.Server.Store;
using Dedalus.Server.Store.Postgres;
using Dedalus.Testing.Postgres;

namespace Dedalus.Server.Tests.Store;

/// <summary>The store contract on PostgreSQL, each test on a new database of the project's cluster.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreContractTests(PostgresFixture postgres) : StoreContractTests
{
    protected override async Task<IStore> OpenStoreAsync() => await PostgresStore.OpenAsync(await postgres.Server.CreateDatabaseAsync());
}
