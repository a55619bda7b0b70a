using System.Net.Http.Headers;
using Dedalus.Server.Auth;
using Dedalus.Server.Hosting;
using Dedalus.Server.Reconciliation;
using Dedalus.Machines.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// The real server on a real Kestrel socket (127.0.0.1:0, port read back) with real SQLite in a data
/// directory (or, given a database, real PostgreSQL: <c>--database</c>), the in-memory runtime and no gateway. Every
/// HTTP call has a timeout.
/// </summary>
public sealed class RunningServer : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private RunningServer(WebApplication app, string dataDirectory, LogCollector logs, string baseUrl)
    {
        App = app;
        DataDirectory = dataDirectory;
        Logs = logs;
        BaseUrl = baseUrl;
        Runtime = app.Services.GetRequiredService<InMemoryMachineRuntime>();
    }

    public WebApplication App { get; }

    public string DataDirectory { get; }

    public LogCollector Logs { get; }

    public string BaseUrl { get; }

    public InMemoryMachineRuntime Runtime { get; }

    public T Service<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    public static async Task<RunningServer> StartAsync(
        string dataDirectory, TimeProvider? clock = null, IEnumerable<string>? extraArgs = null, LogCollector? logs = null, Action<IServiceCollection>? services = null,
        string? database = null)
    {
        logs ??= new LogCollector();
        // Defaults for tests; an option in extraArgs replaces its default (the server refuses an option given twice).
        var extra = extraArgs?.ToList() ?? [];
        if (database is not null)
        {
            extra.AddRange(["--database", database]);
        }

        string[][] defaults =
        [
            ["--urls", "http://127.0.0.1:0"],
            ["--data-dir", dataDirectory],
            ["--gateway", "false"],
            ["--gateway-host", "gw.test,localhost"],
            ["--gateway-ports", "2200-2299"],
            ["--Dedalus:ReconcileRetryDelay", "00:00:00.020"],

            // Limits measured on the host (its CPUs, memory and free disk) would make a test's outcome depend on the host it
            // runs on; the quota tests set what they test. The machines and sessions defaults apply as they are.
            ["--quota-vcpu", "unlimited"],
            ["--quota-memory-mib", "unlimited"],
            ["--storage-overcommit", "100"],
        ];
        string[] args = [.. defaults.Where(d => !extra.Contains(d[0])).SelectMany(d => d), .. extra];
        var collector = logs;
        var app = await ServerApp.BuildAsync(args, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(collector);
            builder.Services.RemoveAll<IMachineRuntime>();
            builder.Services.AddSingleton<InMemoryMachineRuntime>();
            builder.Services.AddSingleton<IMachineRuntime>(sp => sp.GetRequiredService<InMemoryMachineRuntime>());
            if (clock is not null)
            {
                builder.Services.AddSingleton(clock);
            }

            services?.Invoke(builder.Services);
        });
        using var cts = new CancellationTokenSource(Timeout);
        await app.StartAsync(cts.Token);
        await app.Services.GetRequiredService<Reconciler>().WaitIdleAsync(cts.Token);
        return new RunningServer(app, dataDirectory, logs, app.BoundAddresses()[0].TrimEnd('/'));
    }

    /// <summary>A new org with a key, and a client authenticated with it (Bearer unless told otherwise).</summary>
    public async Task<ApiClient> NewClientAsync(string orgName = "acme", bool useXApiKey = false)
    {
        var (key, orgId) = await Service<ApiKeys>().CreateAsync(orgName);
        return Client(key, orgId, useXApiKey);
    }

    public ApiClient Client(string? key, string orgId = "", bool useXApiKey = false)
    {
        var http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = Timeout };
        if (key is not null)
        {
            if (useXApiKey)
            {
                http.DefaultRequestHeaders.Add("x-api-key", key);
            }
            else
            {
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
        }

        return new ApiClient(http, key ?? string.Empty, orgId, this);
    }

    /// <summary>Waits until the reconciler has nothing left to do.</summary>
    public async Task SettleAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await Service<Reconciler>().WaitIdleAsync(cts.Token);
    }

    /// <summary>Stops and disposes the server once; later calls (a test's clean-up after it restarted) do nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        using var cts = new CancellationTokenSource(Timeout);
        await App.StopAsync(cts.Token);
        await App.DisposeAsync();
    }

    private int _disposed;
}
