using Dedalus.Server.Store;
using Dedalus.Server.Store.Sqlite;
using Dedalus.Testing;

namespace Dedalus.Server.Tests.Store;

/// <summary>The store contract on SQLite, each test on a new database in its own data directory.</summary>
public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly TempDirectory _data = new();

    protected override async Task<IStore> OpenStoreAsync() => await SqliteStore.OpenAsync(_data.Path);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _data.Dispose();
    }
}
