using Dedalus.Server.Hosting;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// The server in this process with the runc runtime and its gateway on loopback (gateway name <c>localhost</c>,
/// a port range), started, with an HTTP client carrying an API key.
/// </summary>
public static class RuncServer
{
    /// <summary>
    /// Starts it; <paramref name="apiKey"/> null makes a new key for the org <paramref name="org"/>;
    /// <paramref name="services"/> may add or replace services (a test double of the console's caller, say).
    /// </summary>
    public static async Task<(WebApplication App, HttpClient Http, string ApiKey)> StartAsync(
        string dataDirectory, int low, int high, IEnumerable<string> extraArguments, string org, string? apiKey = null, TimeSpan? startTimeout = null,
        Action<IServiceCollection>? services = null)
    {
        var app = await ServerApp.BuildAsync(
            [
                "--urls", "http://127.0.0.1:0", "--data-dir", dataDirectory, "--runtime", "runc",
                "--gateway-host", "localhost", "--gateway-ports", $"{low}-{high}", "--gateway-bind", "127.0.0.1",
                .. extraArguments,
                .. extraArguments.Contains("--machine-network") ? [] : TestSubnets.ServerArguments(dataDirectory),
            ],
            builder =>
            {
                builder.Logging.SetMinimumLevel(LogLevel.Warning);
                services?.Invoke(builder.Services);
            });
        using var cts = new CancellationTokenSource(startTimeout ?? TimeSpan.FromSeconds(60));
        await app.StartAsync(cts.Token);
        apiKey ??= (await app.Services.GetRequiredService<Dedalus.Server.Auth.ApiKeys>().CreateAsync(org)).Key;
        var http = new HttpClient { BaseAddress = new Uri(app.BoundAddresses()[0]), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("x-api-key", apiKey);
        return (app, http, apiKey);
    }

    /// <summary>Deletes every machine the server still has (their runc containers and mounts), then stops it.</summary>
    public static async Task StopAsync(WebApplication app)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var store = app.Services.GetRequiredService<Dedalus.Server.Store.IStore>();
        var runtime = app.Services.GetRequiredService<Dedalus.Machines.Runtime.IMachineRuntime>();
        foreach (var machine in await store.ListLiveMachinesAsync(cts.Token))
        {
            await runtime.DeleteAsync(machine.Id, cts.Token);
        }

        await app.StopAsync(cts.Token);
        await app.DisposeAsync();
    }
}
