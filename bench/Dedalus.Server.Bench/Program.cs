using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Auth;
using Dedalus.Server.Hosting;
using Dedalus.Server.Reconciliation;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

// Load driver: SSH session creates per second (and latency) against an in-process server on
// 127.0.0.1:0 with real SQLite and the in-memory runtime, with GET /healthz as the baseline.
// Usage: dotnet run -c Release --project bench/Dedalus.Server.Bench [-- SECONDS_PER_RUN]
var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var dataDirectory = Directory.CreateTempSubdirectory("dedalus-bench-").FullName;
try
{
    await using var app = await ServerApp.BuildAsync(
    [
        "--urls", "http://127.0.0.1:0", "--data-dir", dataDirectory, "--gateway", "false",
        "--Logging:LogLevel:Default", "Warning",

        // One org opens tens of thousands of sessions; DEDALUS_BENCH_QUOTA_SESSIONS measures the check with a limit.
        "--quota-sessions", Environment.GetEnvironmentVariable("DEDALUS_BENCH_QUOTA_SESSIONS") is { Length: > 0 } limit ? limit : "unlimited",
    ], builder =>
    {
        // The load driver measures the API, store and certificate path: machines are kept in memory.
        builder.Services.RemoveAll<IMachineRuntime>();
        builder.Services.AddSingleton<IMachineRuntime, InMemoryMachineRuntime>();
    });
    await app.StartAsync();
    var baseUrl = app.BoundAddresses()[0];
    var (key, _) = await app.Services.GetRequiredService<ApiKeys>().CreateAsync("bench");

    using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
    using var http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

    using var create = await http.PostAsync("/v1/machines", Json("""{"vcpu":1,"memory_mib":1024,"storage_gib":10,"autosleep":"never"}"""));
    var machine = JsonSerializer.Deserialize(await create.Content.ReadAsStringAsync(), DedalusJsonContext.Default.Machine)!;
    await app.Services.GetRequiredService<Reconciler>().WaitIdleAsync();
    const string PublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG8ZQqPw9A4TFdVbpgJMyZUh8SzikCLb8SeCni+2eEK2 bench";
    var sessionBody = Encoding.UTF8.GetBytes($$"""{"public_key":"{{PublicKey}}"}""");
    var sessionPath = $"/v1/machines/{machine.MachineId}/ssh";

    async Task<bool> Healthz(long i)
    {
        using var response = await http.GetAsync("/healthz");
        await response.Content.ReadAsByteArrayAsync();
        return response.IsSuccessStatusCode;
    }

    async Task<bool> CreateSession(long i)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, sessionPath) { Content = new ByteArrayContent(sessionBody) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("Idempotency-Key", "bench-" + i.ToString(CultureInfo.InvariantCulture) + "-" + Environment.TickCount64.ToString(CultureInfo.InvariantCulture));
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode && body.Contains("\"status\":\"ready\"", StringComparison.Ordinal);
    }

    Console.WriteLine($"cores: {Environment.ProcessorCount}, {seconds} s per run, SQLite WAL in {dataDirectory}");
    await RunAsync("warm-up healthz", 8, 1, Healthz);
    await RunAsync("warm-up sessions", 8, 1, CreateSession);
    Console.WriteLine($"{"workload",-28} {"conc",5} {"requests",9} {"errors",7} {"req/s",9} {"p50 ms",8} {"p99 ms",8}");
    var results = new List<(string Name, int Concurrency, double Rate)>();
    foreach (var concurrency in new[] { 1, 64 })
    {
        results.Add(await RunAsync("GET /healthz (baseline)", concurrency, seconds, Healthz));
        results.Add(await RunAsync("POST .../ssh (session create)", concurrency, seconds, CreateSession));
    }

    foreach (var concurrency in new[] { 1, 64 })
    {
        var baseline = results.First(r => r.Concurrency == concurrency && r.Name.StartsWith("GET", StringComparison.Ordinal)).Rate;
        var sessions = results.First(r => r.Concurrency == concurrency && r.Name.StartsWith("POST", StringComparison.Ordinal)).Rate;
        Console.WriteLine($"concurrency {concurrency}: session creates / healthz = {sessions / baseline:P1}");
    }

    await app.StopAsync();
}
finally
{
    Directory.Delete(dataDirectory, recursive: true);
}

static ByteArrayContent Json(string json)
{
    var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
    return content;
}

static async Task<(string Name, int Concurrency, double Rate)> RunAsync(string name, int concurrency, double seconds, Func<long, Task<bool>> operation)
{
    var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
    var latencies = new List<double>[concurrency];
    long counter = 0;
    long errors = 0;
    var started = Stopwatch.GetTimestamp();
    var workers = Enumerable.Range(0, concurrency).Select(async w =>
    {
        var mine = latencies[w] = new List<double>(100_000);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var t0 = Stopwatch.GetTimestamp();
            if (!await operation(Interlocked.Increment(ref counter)))
            {
                Interlocked.Increment(ref errors);
            }

            mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
    }).ToArray();
    await Task.WhenAll(workers);
    var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
    var all = latencies.SelectMany(l => l).Order().ToArray();
    var rate = all.Length / elapsed;
    if (!name.StartsWith("warm-up", StringComparison.Ordinal))
    {
        Console.WriteLine($"{name,-28} {concurrency,5} {all.Length,9} {errors,7} {rate,9:F0} {Percentile(all, 0.50),8:F2} {Percentile(all, 0.99),8:F2}");
    }

    return (name, concurrency, rate);
}

static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
