using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Dedalus.Testing.Cluster;

/// <summary>
/// One <c>dedalus-server</c> process of a <see cref="ServerCluster"/>: its own data directory, API port and gateway port
/// range, the cluster's database and CA directory. It can be killed (<c>SIGKILL</c> to the server alone, as a crash:
/// its machines, their runc processes and its dnsmasq stay) and started again on the same data directory and ports.
/// </summary>
public sealed class ClusterNode
{
    private const string MachineIdPrefix = "dm-";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);
    private readonly IReadOnlyList<string> _arguments;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly StringBuilder _pastLogs = new();
    private TestProcess? _process;
    private HttpClient? _http;

    internal ClusterNode(NodeSpec spec, string dataDirectory, int apiPort, int gatewayLow, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        Spec = spec;
        DataDirectory = dataDirectory;
        ApiPort = apiPort;
        GatewayPortLow = gatewayLow;
        GatewayPortHigh = gatewayLow + spec.GatewayPorts - 1;
        _arguments = arguments;
        _environment = environment;
    }

    public NodeSpec Spec { get; }

    public string Name => Spec.Name;

    public string DataDirectory { get; }

    public int ApiPort { get; }

    public Uri BaseUrl => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{ApiPort}/"));

    public int GatewayPortLow { get; }

    public int GatewayPortHigh { get; }

    /// <summary>The server process's id while it runs.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>An HTTP client for this node's API with the cluster's API key (once the cluster has one).</summary>
    public HttpClient Http => _http ?? throw new InvalidOperationException($"node {Name} has no API key yet");

    /// <summary>runc's state directory of this node's machines (<c>DATA/runtime/runc</c>): where its containers are listed.</summary>
    public string RuncRoot => Path.Combine(DataDirectory, "runtime", "runc");

    /// <summary>What the server printed, over every start (for failure messages).</summary>
    public string Log
    {
        get
        {
            lock (_pastLogs)
            {
                return _pastLogs + (_process is null ? string.Empty : _process.Output.Text + _process.Errors.Text);
            }
        }
    }

    /// <summary>Whether <paramref name="port"/> (a session's <c>connection.port</c>) is one of this node's gateway ports.</summary>
    public bool OwnsGatewayPort(int port) => port >= GatewayPortLow && port <= GatewayPortHigh;

    /// <summary>
    /// The machines whose containers run on this node's host, as runc itself lists them (a container is named
    /// <c>dm-</c> and the machine id): an oracle of placement that does not ask the server.
    /// </summary>
    public async Task<IReadOnlyList<string>> RuncMachinesAsync() =>
        [.. (await RuncContainersAsync()).Select(c => c.StartsWith(MachineIdPrefix, StringComparison.Ordinal) ? c[MachineIdPrefix.Length..] : c)];

    /// <summary>The containers in this node's runc state directory, by runc's own list.</summary>
    private async Task<IReadOnlyList<string>> RuncContainersAsync()
    {
        if (!Directory.Exists(RuncRoot))
        {
            return [];
        }

        var list = await ProcessRunner.RunAsync("runc", ["--root", RuncRoot, "list", "-q"]);
        if (list.ExitCode != 0)
        {
            throw new InvalidOperationException($"runc list of node {Name} failed: {list}");
        }

        return list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Starts the server (again, on the same data directory and ports) and waits until its API answers.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"node {Name} is already running");
        }

        await RetireProcessAsync();
        _process = TestProcess.Start(ServerCluster.Program, _arguments, _environment, drainOutput: true);
        using var probe = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(5) };
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"node {Name} exited with {_process.ExitCode} while starting:\n{Log}");
            }

            try
            {
                using var health = await probe.GetAsync(new Uri("/healthz", UriKind.Relative));
                if (health.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (started.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"node {Name} did not answer /healthz within {StartTimeout}:\n{Log}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// <c>kill -9</c> of the server process alone, as a crash or a power cut of the control plane: what it started
    /// (runc containers, dnsmasq, sshd) is not signalled. Returns once the process is gone.
    /// </summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            throw new InvalidOperationException($"node {Name} is not running");
        }

        await process.SignalAsync("KILL");
        await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    internal void UseApiKey(string apiKey)
    {
        _http?.Dispose();
        _http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// <summary>Stops the server as an operator does (SIGTERM, bounded), then kills what is left of its process tree.</summary>
    internal async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            try
            {
                await process.SignalAsync("TERM");
                await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                // Killed with its tree below.
            }
        }

        await RetireProcessAsync();
    }

    /// <summary>
    /// Removes whatever the node left on this host, even after a failed test: its containers, the processes it started
    /// that still name its data directory (an orphaned dnsmasq after a kill), the mounts below it, then its files.
    /// </summary>
    internal async Task RemoveAsync(List<Exception> errors)
    {
        _http?.Dispose();
        try
        {
            foreach (var id in await RuncContainersAsync())
            {
                await ProcessRunner.RunAsync("runc", ["--root", RuncRoot, "delete", "--force", id]);
            }

            foreach (var pid in ProcessesNaming(DataDirectory))
            {
                await ProcessRunner.RunAsync("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]);
            }

            foreach (var mount in Mounts.Under(DataDirectory))
            {
                await ProcessRunner.RunAsync("umount", ["-l", mount]);
            }

            if (Mounts.Under(DataDirectory) is { Count: > 0 } left)
            {
                throw new IOException($"{DataDirectory} still has mounts: {string.Join(", ", left)}");
            }

            if (Directory.Exists(DataDirectory))
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
        }
        catch (Exception e)
        {
            errors.Add(new InvalidOperationException($"removing node {Name} ({DataDirectory}): {e.Message}", e));
        }
    }

    private async Task RetireProcessAsync()
    {
        if (_process is null)
        {
            return;
        }

        await _process.DisposeAsync();
        var exit = _process.Exited.IsCompletedSuccessfully ? _process.Exited.Result.ToString(CultureInfo.InvariantCulture) : "?";
        lock (_pastLogs)
        {
            _pastLogs.Append(_process.Output.Text).Append(_process.Errors.Text)
                .Append(CultureInfo.InvariantCulture, $"---- node {Name} exited ({exit}) ----\n");
            _process = null;
        }
    }

    /// <summary>Processes (other than this one) whose command line names <paramref name="directory"/>.</summary>
    private static List<int> ProcessesNaming(string directory)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ') + " ";
                if (commandLine.Contains(directory + "/", StringComparison.Ordinal) || commandLine.Contains(directory + " ", StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }
}
