using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Auth;
using Dedalus.Server.Bench;
using Dedalus.Testing.Postgres;
using Microsoft.Extensions.DependencyInjection;

// Load driver: SSH session creates per second (and latency) against in-process servers on 127.0.0.1:0 with the
// in-memory runtime: SQLite on one node (with GET /healthz as the baseline), then PostgreSQL (a throw-away cluster
// started with initdb/pg_ctl, as the tests do) on one node and on three nodes sharing the database, the load
// round-robin over the nodes.
// Usage: dotnet run -c Release --project bench/Dedalus.Server.Bench [-- SECONDS_PER_RUN]
var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
const int Concurrency = 64;
const string PublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG8ZQqPw9A4TFdVbpgJMyZUh8SzikCLb8SeCni+2eEK2 bench";
var sessionBody = Encoding.UTF8.GetBytes($$"""{"public_key":"{{PublicKey}}"}""");
var root = Directory.CreateTempSubdirectory("dedalus-bench-").FullName;

// The servers check that machines' mapped roots could traverse their data directories' ancestors (0711).
File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
Console.WriteLine($"cores: {Environment.ProcessorCount}, {seconds} s per run, data in {root}");
Console.WriteLine($"{"workload",-28} {"conc",5} {"requests",9} {"errors",7} {"req/s",9} {"p50 ms",8} {"p99 ms",8}");
try
{
    double sqliteRate;
    await using (var sqlite = await BenchNode.StartAsync(Path.Combine(root, "sqlite")))
    {
        var targets = await PrepareAsync([sqlite], machines: 1);
        await LoadRun.RunAsync("warm-up healthz", 8, 1, i => HealthzAsync(sqlite.Http));
        await LoadRun.RunAsync("warm-up sessions", 8, 1, i => CreateSessionAsync(targets, i));
        var results = new List<(string Name, int Concurrency, double Rate)>();
        foreach (var concurrency in new[] { 1, Concurrency })
        {
            results.Add(await LoadRun.RunAsync("GET /healthz (baseline)", concurrency, seconds, i => HealthzAsync(sqlite.Http)));
            results.Add(await LoadRun.RunAsync("POST .../ssh (session create)", concurrency, seconds, i => CreateSessionAsync(targets, i)));
        }

        foreach (var concurrency in new[] { 1, Concurrency })
        {
            var baseline = results.First(r => r.Concurrency == concurrency && r.Name.StartsWith("GET", StringComparison.Ordinal)).Rate;
            var sessions = results.First(r => r.Concurrency == concurrency && r.Name.StartsWith("POST", StringComparison.Ordinal)).Rate;
            Console.WriteLine($"concurrency {concurrency}: session creates / healthz = {sessions / baseline:P1}");
        }

        sqliteRate = results.First(r => r.Concurrency == Concurrency && r.Name.StartsWith("POST", StringComparison.Ordinal)).Rate;
    }

    if (!File.Exists(Path.Combine(PostgresServer.BinDirectory, "initdb")))
    {
        Console.WriteLine($"stores: PostgreSQL skipped ({PostgresServer.BinDirectory}/initdb is missing: install postgresql-15)");
        return;
    }

    await using var postgres = await PostgresServer.StartAsync();
    double onePostgres;
    await using (var node = await BenchNode.StartAsync(Path.Combine(root, "pg1"), "--database", postgres.ConnectionUrl(PostgresServer.DatabaseOf(await postgres.CreateDatabaseAsync()))))
    {
        var targets = await PrepareAsync([node], machines: 1);
        await LoadRun.RunAsync("warm-up sessions", 8, 1, i => CreateSessionAsync(targets, i));
        onePostgres = (await LoadRun.RunAsync("sessions, postgres, 1 node", Concurrency, seconds, i => CreateSessionAsync(targets, i))).Rate;
    }

    // Three nodes as a cluster: one database, one CA directory (made by the first node), their own data directories.
    var caDirectory = Path.Combine(root, "ca");
    Directory.CreateDirectory(caDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    var database = postgres.ConnectionUrl(PostgresServer.DatabaseOf(await postgres.CreateDatabaseAsync()));
    var nodes = new List<BenchNode>();
    double threePostgres;
    try
    {
        for (var n = 1; n <= 3; n++)
        {
            nodes.Add(await BenchNode.StartAsync(Path.Combine(root, $"node{n}"), "--database", database, "--ca-dir", caDirectory, "--node-name", $"bench{n}"));
        }

        var targets = await PrepareAsync(nodes, machines: 3);
        await LoadRun.RunAsync("warm-up sessions", 8, 1, i => CreateSessionAsync(targets, i));
        threePostgres = (await LoadRun.RunAsync("sessions, postgres, 3 nodes", Concurrency, seconds, i => CreateSessionAsync(targets, i))).Rate;
    }
    finally
    {
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }
    }

    Console.WriteLine($"stores: postgres 1 node / sqlite 1 node = {onePostgres / sqliteRate:F2}x (goal >= 0.5) at concurrency {Concurrency}");
    Console.WriteLine($"stores: postgres 3 nodes / postgres 1 node = {threePostgres / onePostgres:F2}x (goal >= 1) at concurrency {Concurrency}");
}
finally
{
    Directory.Delete(root, recursive: true);
}

// An API key for org "bench", then running machines (placed by the cluster): the (node, session path) pairs the load
// takes round-robin.
async Task<IReadOnlyList<(HttpClient Http, string Path)>> PrepareAsync(IReadOnlyList<BenchNode> nodes, int machines)
{
    var (key, _) = await nodes[0].App.Services.GetRequiredService<ApiKeys>().CreateAsync("bench");
    foreach (var node in nodes)
    {
        node.UseApiKey(key);
    }

    var ids = new List<string>();
    for (var m = 0; m < machines; m++)
    {
        using var create = await nodes[0].Http.PostAsync(new Uri("/v1/machines", UriKind.Relative), Json("""{"vcpu":1,"memory_mib":1024,"storage_gib":10,"autosleep":"never"}"""));
        var body = await create.Content.ReadAsStringAsync();
        ids.Add(create.IsSuccessStatusCode
            ? JsonSerializer.Deserialize(body, DedalusJsonContext.Default.Machine)!.MachineId
            : throw new InvalidOperationException($"machine create answered {(int)create.StatusCode}: {body}"));
    }

    foreach (var id in ids)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            await Task.WhenAll(nodes.Select(n => n.WaitIdleAsync()));
            var machine = JsonSerializer.Deserialize(await nodes[0].Http.GetStringAsync(new Uri("/v1/machines/" + id, UriKind.Relative)), DedalusJsonContext.Default.Machine)!;
            if (machine.Phase == MachinePhases.Running)
            {
                break;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"machine {id} is {machine.Phase}, not running, after 60 s");
            }

            await Task.Delay(50);
        }
    }

    // Every node with every machine, so each node serves sessions of machines it owns and of machines it does not.
    return [.. Enumerable.Range(0, nodes.Count * ids.Count).Select(k => (nodes[k % nodes.Count].Http, $"/v1/machines/{ids[k / nodes.Count]}/ssh"))];
}

async Task<bool> CreateSessionAsync(IReadOnlyList<(HttpClient Http, string Path)> targets, long i)
{
    var (http, path) = targets[(int)(i % targets.Count)];
    using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(sessionBody) };
    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
    request.Headers.Add("Idempotency-Key", "bench-" + i.ToString(CultureInfo.InvariantCulture) + "-" + Environment.TickCount64.ToString(CultureInfo.InvariantCulture));
    using var response = await http.SendAsync(request);
    var body = await response.Content.ReadAsStringAsync();
    return response.IsSuccessStatusCode && body.Contains("\"status\":\"ready\"", StringComparison.Ordinal);
}

static async Task<bool> HealthzAsync(HttpClient http)
{
    using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
    await response.Content.ReadAsByteArrayAsync();
    return response.IsSuccessStatusCode;
}

static ByteArrayContent Json(string json)
{
    var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
    return content;
}
