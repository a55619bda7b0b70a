namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>One <see cref="SshTestSite"/> (CAs, host certificate, KRL) shared by a test class.</summary>
public sealed class SshSiteFixture : IAsyncLifetime
{
    private SshTestSite? _site;

    public SshTestSite Site => _site ?? throw new InvalidOperationException("fixture not initialized");

    public async Task InitializeAsync() => _site = await SshTestSite.CreateAsync();

    public Task DisposeAsync()
    {
        _site?.Dispose();
        return Task.CompletedTask;
    }
}
