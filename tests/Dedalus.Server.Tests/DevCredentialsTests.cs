using Dedalus.Server.Auth;
using Dedalus.Server.Hosting;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

public sealed class DevCredentialsTests
{
    [Fact]
    public async Task Dev_credentials_are_written_0600_once_and_kept_across_starts_with_a_fresh_base_url()
    {
        using var data = new TempDirectory();
        using var config = new TempDirectory();
        var path = config.Combine("dedalus", "dev.env");
        await using var server = await RunningServer.StartAsync(data.Path);
        var apiKeys = server.Service<ApiKeys>();

        var orgId = await DevCredentials.EnsureAsync(apiKeys, "http://127.0.0.1:1111", path);
        var first = await File.ReadAllTextAsync(path);
        var again = await DevCredentials.EnsureAsync(apiKeys, "http://127.0.0.1:2222", path);
        var second = await File.ReadAllTextAsync(path);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(orgId, again);
        Assert.Contains("DEDALUS_BASE_URL=http://127.0.0.1:2222", second, StringComparison.Ordinal);
        var key = first.Split('\n').Single(l => l.StartsWith("DEDALUS_API_KEY=", StringComparison.Ordinal))["DEDALUS_API_KEY=".Length..];
        Assert.Contains("DEDALUS_API_KEY=" + key, second, StringComparison.Ordinal);
        using var api = server.Client(key);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await api.GetAsync("/v1/machines")).Status);
    }
}
