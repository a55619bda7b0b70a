using Dedalus.Testing;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// A fresh server on its own data directory per test, with an API client of a new org and a work directory for
/// client-side files. A class that needs other server settings overrides <see cref="StartServerAsync"/>; one that runs
/// the same tests on PostgreSQL overrides <see cref="DatabaseAsync"/> (<see cref="PostgresServerTest"/>).
/// </summary>
public abstract class ServerTestBase : IAsyncLifetime
{
    protected TempDirectory Data { get; } = new();

    protected TempDirectory Work { get; } = new();

    protected RunningServer Server { get; private set; } = null!;

    protected ApiClient Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await StartServerAsync(Data.Path);
        Api = await Server.NewClientAsync();
    }

    public async Task DisposeAsync()
    {
        Api.Dispose();
        await Server.DisposeAsync();
        Data.Dispose();
        Work.Dispose();
    }

    protected virtual async Task<RunningServer> StartServerAsync(string dataDirectory) => await RunningServer.StartAsync(dataDirectory, database: await DatabaseAsync());

    /// <summary>The server's <c>--database</c>; null: SQLite in the data directory. The same on every (re)start of a test.</summary>
    protected virtual Task<string?> DatabaseAsync() => Task.FromResult<string?>(null);

    /// <summary>
    /// Stops the server and starts it again on the same data directory (<see cref="StartServerAsync"/>), with a client of
    /// the same org; <paramref name="whileStopped"/> runs in between.
    /// </summary>
    protected async Task RestartServerAsync(Func<Task>? whileStopped = null)
    {
        var (key, orgId) = (Api.ApiKey, Api.OrgId);
        Api.Dispose();
        await Server.DisposeAsync();
        if (whileStopped is not null)
        {
            await whileStopped();
        }

        Server = await StartServerAsync(Data.Path);
        Api = Server.Client(key, orgId);
    }

    /// <summary>A new Ed25519 key from ssh-keygen in the work directory: its public key line and private key path.</summary>
    protected Task<(string PublicKey, string Path)> NewClientKeyAsync(string name = "id") => ClientKeys.GenerateAsync(Work, name);
}
