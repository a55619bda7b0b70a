using System.Net.Http.Headers;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Hosting;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dedalus.Server.Bench;

/// <summary>
/// One server in this process on 127.0.0.1:0 with the in-memory runtime (the API, store and certificate path are what is
/// measured), its gateway off, and an HTTP client with room for the load's connections. Several of them on one
/// PostgreSQL database with one CA directory are the nodes of one cluster.
/// </summary>
internal sealed class BenchNode : IAsyncDisposable
{
    private readonly SocketsHttpHandler _handler = new() { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };

    private BenchNode(WebApplication app)
    {
        App = app;
        Http = new HttpClient(_handler) { BaseAddress = new Uri(app.BoundAddresses()[0]), Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    public HttpClient Http { get; }

    /// <summary>Starts a server on <paramref name="dataDirectory"/> with <paramref name="extraArguments"/> (a database, a node name, a CA directory).</summary>
    public static async Task<BenchNode> StartAsync(string dataDirectory, params string[] extraArguments)
    {
        var app = await ServerApp.BuildAsync(
        [
            "--urls", "http://127.0.0.1:0", "--data-dir", dataDirectory, "--gateway", "false",
            "--Logging:LogLevel:Default", "Warning",

            // The in-memory runtime runs no sshd: the gateway's fallback warning would fill the output.
            "--Logging:LogLevel:Dedalus.Machines.Ssh", "Error",

            // One org opens tens of thousands of sessions; DEDALUS_BENCH_QUOTA_SESSIONS measures the check with a limit.
            "--quota-sessions", Environment.GetEnvironmentVariable("DEDALUS_BENCH_QUOTA_SESSIONS") is { Length: > 0 } limit ? limit : "unlimited",
            .. extraArguments,
        ], builder =>
        {
            builder.Services.RemoveAll<IMachineRuntime>();
            builder.Services.AddSingleton<IMachineRuntime, InMemoryMachineRuntime>();
        });
        await app.StartAsync();
        return new BenchNode(app);
    }

    public void UseApiKey(string key) => Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

    /// <summary>Waits until this node's reconciler has nothing left to do (the machines it owns are running).</summary>
    public Task WaitIdleAsync() => App.Services.GetRequiredService<Reconciler>().WaitIdleAsync();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        _handler.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
