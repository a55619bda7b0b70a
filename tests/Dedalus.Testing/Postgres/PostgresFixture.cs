using Xunit;

namespace Dedalus.Testing.Postgres;

/// <summary>
/// One PostgreSQL cluster for a whole test project: the fixture of the <see cref="PostgresCollection"/>. Each test
/// creates its own database in it (<see cref="PostgresServer.CreateDatabaseAsync"/>).
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PostgresServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await PostgresServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}
