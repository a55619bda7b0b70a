using Dedalus.Testing;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>A fresh server on its own data directory per test, with an API client of a new org.</summary>
public abstract class ServerTestBase : IAsyncLifetime
{
    private readonly TempDirectory _data = new();

    protected RunningServer Server { get; private set; } = null!;

    protected ApiClient Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RunningServer.StartAsync(_data.Path);
        Api = await Server.NewClientAsync();
    }

    public async Task DisposeAsync()
    {
        Api.Dispose();
        await Server.DisposeAsync();
        _data.Dispose();
    }
}
