using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PublicApiGenerator;

namespace Dedalus.Client.Tests;

public sealed class CompositionTests
{
    [Fact]
    public async Task The_client_registered_in_a_container_calls_the_api_through_the_factory()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () => Wire.Json(Samples.Machine())));
        var services = new ServiceCollection();
        services.AddDedalusClient(options => options with { BaseUrl = api.BaseUrl, ApiKey = "di-key" });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<DedalusClient>();
        var machine = await client.Machines.RetrieveAsync(Samples.MachineId);

        Assert.Same(client, provider.GetRequiredService<DedalusClient>());
        Assert.Equal(Samples.MachineId, machine.MachineId);
        Assert.Equal("Bearer di-key", Assert.Single(api.Requests).Header("Authorization"));
    }

    [Fact]
    public async Task A_callers_http_client_is_used_and_not_disposed()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () => Wire.Json(Samples.Machine())));
        using var http = new HttpClient();
        using (var client = new DedalusClient(new DedalusClientOptions { BaseUrl = api.BaseUrl, ApiKey = "k" }, http))
        {
            await client.Machines.RetrieveAsync(Samples.MachineId);
        }

        using var response = await http.GetAsync(new Uri(api.BaseUrl, "/v1/machines/x"));
        Assert.True(response.IsSuccessStatusCode);
    }

    [Fact]
    public void Options_fall_back_to_the_environment_variables()
    {
        var options = new DedalusClientOptions { ApiKey = "explicit" }.WithEnvironmentDefaults();

        Assert.Equal("explicit", options.ApiKey);
        Assert.NotNull(options.BaseUrl);
        Assert.Equal(2, options.MaxRetries);
    }

    [Fact]
    public void The_public_api_matches_the_approved_snapshot()
    {
        var api = typeof(DedalusClient).Assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            // SupportedOSPlatform is kept in the snapshot: the SDK is platform-neutral, and an assembly-level attribute coming
            // back (it once marked every public member Linux-only, CA1416 for every caller) must show here.
            ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute", "System.Reflection.AssemblyMetadataAttribute"],
        }).ReplaceLineEndings("\n");
        var directory = Path.Combine(SourceDirectory(), "PublicApi.approved.txt");
        var approved = File.Exists(directory) ? File.ReadAllText(directory).ReplaceLineEndings("\n") : string.Empty;
        var received = Path.ChangeExtension(directory, ".received.txt").Replace(".approved.received", ".received", StringComparison.Ordinal);
        if (approved != api)
        {
            File.WriteAllText(received, api);
            Assert.Fail($"The public API of Dedalus.Client changed. Review {received} and copy it to {directory} if the change is intended.");
        }

        File.Delete(received);
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
