using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Dedalus.Testing;

namespace Dedalus.EndToEnd.Tests;

/// <summary>
/// The repository's <c>./run</c> on a clean, private data directory with its own API port and gateway port range
/// (<c>DEDALUS_RUN_DATA_DIR</c>, <c>DEDALUS_RUN_PORT</c>, <c>DEDALUS_RUN_GATEWAY_PORTS</c>). Disposing runs
/// <c>./run stop</c>, kills a server that is still there, checks nothing stays mounted, and deletes the directory.
/// </summary>
public sealed class RunScript : IAsyncDisposable
{
    /// <summary>The first run may build (when artifacts/bin is missing) and provision the base userland.</summary>
    public static readonly TimeSpan FirstRunTimeout = TimeSpan.FromMinutes(12);

    public static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    public RunScript()
    {
        RepositoryRoot = FindRepositoryRoot();
        DataDirectory = Directory.CreateTempSubdirectory("dedalus-e2e-").FullName;
        Port = FreePort.Next();
        (GatewayLow, GatewayHigh) = FreePortRange(10);
    }

    public string RepositoryRoot { get; }

    public string DataDirectory { get; }

    public int Port { get; }

    public int GatewayLow { get; }

    public int GatewayHigh { get; }

    /// <summary>The environment <c>./run</c> gets; the build step is skipped when <c>./build</c> already published.</summary>
    public Dictionary<string, string> Environment
    {
        get
        {
            var environment = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["DEDALUS_RUN_DATA_DIR"] = DataDirectory,
                ["DEDALUS_RUN_PORT"] = Port.ToString(CultureInfo.InvariantCulture),
                ["DEDALUS_RUN_GATEWAY_PORTS"] = $"{GatewayLow}-{GatewayHigh}",
                // The dev server's machines on a subnet of their own, their DNS kept on this host.
                ["DEDALUS_MACHINE_NETWORK"] = TestSubnets.For(DataDirectory),
                ["DEDALUS_DNS_UPSTREAM"] = TestSubnets.DnsUpstream,
                // The caller's own Dedalus settings must not leak into ./run's CLI calls (./run drops them too).
                ["DEDALUS_BASE_URL"] = string.Empty,
                ["DEDALUS_API_KEY"] = string.Empty,
            };
            if (File.Exists(Path.Combine(RepositoryRoot, "artifacts/bin/dedalus")) && File.Exists(Path.Combine(RepositoryRoot, "artifacts/bin/dedalus-server")))
            {
                environment["DEDALUS_RUN_SKIP_BUILD"] = "1";
            }

            return environment;
        }
    }

    public string ServerPidFile => Path.Combine(DataDirectory, "server.pid");

    public string DemoMachineFile => Path.Combine(DataDirectory, "demo-machine");

    /// <summary>Runs <c>./run ARGS...</c> from the repository root, without a terminal.</summary>
    public Task<ProcessResult> RunAsync(TimeSpan timeout, params string[] arguments) =>
        ProcessRunner.RunAsync(Path.Combine(RepositoryRoot, "run"), arguments, standardInput: null, timeout: timeout, environment: Environment);

    /// <summary>Mount points at or below the data directory.</summary>
    public IReadOnlyList<string> MountsBelowDataDirectory() => Mounts.Under(DataDirectory);

    /// <summary>
    /// What the dev server's machine networking has on the host (its nft table, network namespaces, bridge, DNS
    /// forwarder), named as the runtime names them: instance = 6 hex digits of the SHA-256 of the runtime directory.
    /// </summary>
    public async Task<IReadOnlyList<string>> NetworkObjectsAsync()
    {
        var instance = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(Path.Combine(DataDirectory, "runtime"))))[..6];
        var found = new List<string>();
        if ((await ProcessRunner.RunAsync("nft", "list", "table", "inet", "dedalus_" + instance)).ExitCode == 0)
        {
            found.Add("nft table inet dedalus_" + instance);
        }

        found.AddRange((await ProcessRunner.RunAsync("ip", "netns", "list")).StandardOutput.Split('\n')
            .Where(l => l.StartsWith($"dedalus-{instance}-", StringComparison.Ordinal)).Select(l => "netns " + l));
        if ((await ProcessRunner.RunAsync("ip", "link", "show", "dedalus-" + instance)).ExitCode == 0)
        {
            found.Add("bridge dedalus-" + instance);
        }

        var pidFile = Path.Combine(DataDirectory, "runtime", "network", "dnsmasq.pid");
        found.AddRange((await ProcessRunner.RunAsync("pgrep", "-f", "--", "--pid-file=" + pidFile)).StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(pid => "dnsmasq " + pid));
        return found;
    }

    /// <summary>Whether the server recorded in the pid file is alive.</summary>
    public bool ServerAlive()
    {
        var pid = ReadServerPid();
        return pid is not null && Directory.Exists($"/proc/{pid}");
    }

    public int? ReadServerPid() =>
        File.Exists(ServerPidFile) && int.TryParse(File.ReadAllText(ServerPidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            ? pid
            : null;

    public async ValueTask DisposeAsync()
    {
        var pid = ReadServerPid();
        try
        {
            await RunAsync(RunTimeout, "stop");
        }
        catch (TimeoutException)
        {
        }

        if (pid is { } p && Directory.Exists($"/proc/{p}"))
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(p);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or TimeoutException)
            {
            }

            // Whatever the killed server left (containers, mounts), ./run stop cleans without a server.
            try
            {
                await RunAsync(RunTimeout, "stop");
            }
            catch (TimeoutException)
            {
            }
        }

        if (MountsBelowDataDirectory().Count == 0)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private static string FindRepositoryRoot()
    {
        static bool IsRoot(string? path) =>
            !string.IsNullOrEmpty(path) && File.Exists(Path.Combine(path, "Dedalus.slnx")) && File.Exists(Path.Combine(path, "run"));

        if (System.Environment.GetEnvironmentVariable("DEDALUS_REPO_ROOT") is { } fromEnvironment && IsRoot(fromEnvironment))
        {
            return fromEnvironment;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (IsRoot(directory.FullName))
            {
                return directory.FullName;
            }
        }

        var built = typeof(RunScript).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), inherit: false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        if (IsRoot(built))
        {
            return built!;
        }

        throw new InvalidOperationException($"no repository root (Dedalus.slnx and run) above {AppContext.BaseDirectory}");
    }

    /// <summary>A run of <paramref name="count"/> consecutive loopback ports that are free now.</summary>
    private static (int Low, int High) FreePortRange(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var low = Random.Shared.Next(30000, 60000 - count);
            var listeners = new List<TcpListener>();
            try
            {
                for (var port = low; port < low + count; port++)
                {
                    var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                    listeners.Add(listener);
                }

                return (low, low + count - 1);
            }
            catch (SocketException)
            {
            }
            finally
            {
                foreach (var listener in listeners)
                {
                    listener.Stop();
                    listener.Dispose();
                }
            }
        }

        throw new InvalidOperationException($"no {count} consecutive free loopback ports");
    }
}
