namespace Dedalus.Testing.Postgres;

/// <summary>
/// The name of the xunit collection whose tests share one <see cref="PostgresFixture"/>. xunit finds collection
/// definitions in the test assembly only, so each test project declares
/// <c>[CollectionDefinition(PostgresCollection.Name)] public sealed class PostgresCollectionDefinition : ICollectionFixture&lt;PostgresFixture&gt;</c>.
/// The collection's tests run one after another: a test may stop the cluster (<see cref="PostgresServer.StopAsync"/>)
/// without breaking another's.
/// </summary>
public static class PostgresCollection
{
    public const string Name = "PostgreSQL";
}
