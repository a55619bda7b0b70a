using System.Globalization;
using System.Net;
using System.Text.Json;
using Dedalus.Contracts;

namespace Dedalus.Testing.Cluster;

/// <summary>
/// Several real <c>dedalus-server</c> processes on this host as the nodes of one cluster: one PostgreSQL database
/// (<c>--database</c>), one CA directory (<c>--ca-dir</c>, 0700), and per node its own data directory, API port on
/// 127.0.0.1, gateway port range on 127.0.0.1, machine subnet (<see cref="TestSubnets"/>) and runc machines. Heartbeats
/// are short (0.5 s, lost after 3 s) so a killed node reads lost quickly. One API key (an org of its own) serves every
/// node. Quotas are unlimited: what limits placement in these tests is the nodes' capacity.
/// <para>
/// Disposing cleans up even after a failed test: killed nodes are started again so that they destroy their own machines,
/// every machine is deleted through the API, the nodes stop (SIGTERM, then their process trees are killed), and each
/// node's leftovers (containers, processes naming its directory, mounts, files) are removed.
/// </para>
/// The program is <c>dedalus-server</c> beside the test assembly (the test project references the server project).
/// </summary>
public sealed class ServerCluster : IAsyncDisposable
{
    /// <summary>The org every node's API key belongs to.</summary>
    public const string Org = "cluster";

    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromMinutes(3);
    private readonly string _root;
    private readonly List<ClusterNode> _nodes = [];

    private ServerCluster(string root, string databaseUrl)
    {
        _root = root;
        DatabaseUrl = databaseUrl;
    }

    public static string Program => Path.Combine(AppContext.BaseDirectory, "dedalus-server");

    /// <summary>The database every node shares, as given to <c>--database</c>.</summary>
    public string DatabaseUrl { get; }

    /// <summary>The CA directory every node is given (<c>--ca-dir</c>): the same CAs on every node.</summary>
    public string CaDirectory => Path.Combine(_root, "ca");

    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    public string ApiKey { get; private set; } = null!;

    public ClusterNode this[string name] => _nodes.Single(n => n.Name == name);

    /// <summary>
    /// Starts a node per <paramref name="nodes"/> on <paramref name="databaseUrl"/> (an empty database): the first alone
    /// (it migrates the database and writes the CAs), then the others at once; then makes the API key.
    /// <paramref name="extraArguments"/> go to every node after the harness's own.
    /// </summary>
    public static async Task<ServerCluster> StartAsync(string databaseUrl, IReadOnlyList<NodeSpec> nodes, params string[] extraArguments)
    {
        var root = Directory.CreateTempSubdirectory("dedalus-cluster-").FullName;

        // The machines' mapped root must traverse the data directories' ancestors (0711: traverse, not list).
        File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var cluster = new ServerCluster(root, databaseUrl);
        try
        {
            Directory.CreateDirectory(cluster.CaDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var taken = new List<(int Low, int High)>();
            foreach (var spec in nodes)
            {
                cluster._nodes.Add(cluster.CreateNode(spec, taken, extraArguments));
            }

            await cluster._nodes[0].StartAsync();
            await Task.WhenAll(cluster._nodes.Skip(1).Select(n => n.StartAsync()));
            cluster.ApiKey = await CreateApiKeyAsync(root, databaseUrl);
            foreach (var node in cluster._nodes)
            {
                node.UseApiKey(cluster.ApiKey);
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The node whose gateway port range holds <paramref name="port"/> (a session's <c>connection.port</c>).</summary>
    public ClusterNode NodeOfGatewayPort(int port) => _nodes.Single(n => n.OwnsGatewayPort(port));

    /// <summary>The node whose host runs <paramref name="machineId"/>'s container (runc's own list), or null.</summary>
    public async Task<ClusterNode?> HostOfAsync(string machineId)
    {
        foreach (var node in _nodes)
        {
            if ((await node.RuncMachinesAsync()).Contains(machineId, StringComparer.Ordinal))
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>Every node's log, for failure messages.</summary>
    public string Logs => string.Join("\n", _nodes.Select(n => $"==== {n.Name} ====\n{n.Log}"));

    public async ValueTask DisposeAsync()
    {
        var errors = new List<Exception>();
        using (var cts = new CancellationTokenSource(CleanupTimeout))
        {
            try
            {
                await DestroyMachinesAsync(cts.Token);
            }
            catch (Exception e)
            {
                // The removal below takes what the API could not.
                errors.Add(e);
            }
        }

        await Task.WhenAll(_nodes.Select(async node =>
        {
            try
            {
                await node.StopAsync();
            }
            catch (Exception e)
            {
                lock (errors)
                {
                    errors.Add(e);
                }
            }
        }));

        foreach (var node in _nodes)
        {
            await node.RemoveAsync(errors);
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add(e);
        }

        foreach (var error in errors)
        {
            // A fixture's clean-up failure reaches the test log as its exception type only: say what failed.
            await Console.Error.WriteLineAsync($"cleaning up the cluster in {_root}: {error}");
        }
    }

    private ClusterNode CreateNode(NodeSpec spec, List<(int Low, int High)> taken, string[] extraArguments)
    {
        var dataDirectory = Path.Combine(_root, spec.Name);
        var apiPort = FreePort.Next();
        int low;
        do
        {
            low = FreePort.Range(spec.GatewayPorts);
        }
        while (taken.Any(t => low <= t.High && low + spec.GatewayPorts - 1 >= t.Low) || (apiPort >= low && apiPort < low + spec.GatewayPorts));

        taken.Add((low, low + spec.GatewayPorts - 1));
        var invariant = CultureInfo.InvariantCulture;
        List<string> arguments =
        [
            "--data-dir", dataDirectory,
            "--listen", string.Create(invariant, $"127.0.0.1:{apiPort}"),
            "--runtime", "runc",
            "--gateway", "true",
            "--gateway-host", "127.0.0.1",
            "--gateway-bind", "127.0.0.1",
            "--gateway-ports", string.Create(invariant, $"{low}-{low + spec.GatewayPorts - 1}"),
            "--node-name", spec.Name,
            "--database", DatabaseUrl,
            "--ca-dir", CaDirectory,
            "--Dedalus:NodeHeartbeatInterval", "00:00:00.5",
            "--Dedalus:NodeLostAfter", "00:00:03",
            "--quota-machines", "unlimited",
            "--quota-vcpu", "unlimited",
            "--quota-memory-mib", "unlimited",
            "--quota-sessions", "unlimited",
            .. TestSubnets.ServerArguments(dataDirectory),
        ];
        if (spec.Vcpu is { } vcpu)
        {
            arguments.AddRange(["--node-vcpu", vcpu.ToString(invariant)]);
        }

        if (spec.MemoryMib is { } memory)
        {
            arguments.AddRange(["--node-memory-mib", memory.ToString(invariant)]);
        }

        arguments.AddRange(extraArguments);
        return new ClusterNode(spec, dataDirectory, apiPort, low, arguments, Environment(_root));
    }

    /// <summary><c>dedalus-server apikey create --database URL --org cluster</c>: with PostgreSQL it needs no data directory.</summary>
    private static async Task<string> CreateApiKeyAsync(string root, string databaseUrl)
    {
        var created = await ProcessRunner.RunAsync(Program, ["apikey", "create", "--database", databaseUrl, "--org", Org], environment: Environment(root), timeout: TimeSpan.FromSeconds(60));
        if (created.ExitCode != 0 || created.StandardOutput.Trim().Length == 0)
        {
            throw new InvalidOperationException($"dedalus-server apikey create failed: {created}");
        }

        return created.StandardOutput.Trim();
    }

    /// <summary>A private HOME and XDG directories, and no data directory from the environment of the user running the tests.</summary>
    private static Dictionary<string, string> Environment(string root) => new()
    {
        ["HOME"] = Path.Combine(root, "home"),
        ["XDG_DATA_HOME"] = Path.Combine(root, "home"),
        ["XDG_CONFIG_HOME"] = Path.Combine(root, "home"),
        ["DEDALUS_DATA_DIR"] = string.Empty,
        ["DEDALUS_DATABASE"] = string.Empty,
        ["DEDALUS_CA_DIR"] = string.Empty,
    };

    /// <summary>
    /// Starts the nodes a test killed (only a machine's own node destroys it), deletes every machine through a live node
    /// and waits until none is left.
    /// </summary>
    private async Task DestroyMachinesAsync(CancellationToken cancellationToken)
    {
        if (ApiKey is null)
        {
            return;
        }

        foreach (var node in _nodes.Where(n => !n.IsRunning))
        {
            await node.StartAsync().WaitAsync(cancellationToken);
        }

        var http = _nodes.First(n => n.IsRunning).Http;
        var ids = await ListMachineIdsAsync(http, cancellationToken);
        foreach (var id in ids)
        {
            using var deleted = await http.DeleteAsync(new Uri("/v1/machines/" + id, UriKind.Relative), cancellationToken);
        }

        while ((await ListMachineIdsAsync(http, cancellationToken)).Count > 0)
        {
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>The ids of the org's machines that are not destroyed yet (every page).</summary>
    private static async Task<List<string>> ListMachineIdsAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var path = "/v1/machines?limit=100" + (cursor is null ? string.Empty : "&cursor=" + WebUtility.UrlEncode(cursor));
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"listing machines answered {(int)response.StatusCode}: {body}");
            }

            var page = JsonSerializer.Deserialize(body, DedalusJsonContext.Default.MachineList)!;
            ids.AddRange(page.Items.Where(m => m.Phase != MachinePhases.Destroyed).Select(m => m.MachineId));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return ids;
    }
}
