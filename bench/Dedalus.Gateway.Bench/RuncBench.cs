using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Dedalus.Gateway.Tests.Runc;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway.Bench;

/// <summary>
/// The gateway in front of a REAL runc machine, against the same <c>sshd -i</c> in the same machine reached
/// without the gateway: <c>ssh -o ProxyCommand="exec runc --root R exec ID /usr/sbin/sshd -i -e -f ..."</c>
/// (the identical sshd -i path, started by ssh through the user's shell with "exec", minus our gateway). Measures <c>ssh true</c> latency, the
/// extra wall time of a connect that wakes a sleeping machine, scp throughput, and the memory cost of idle
/// connections held into the machine.
/// </summary>
internal static class RuncBench
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    public static async Task<int> RunAsync(string[] args)
    {
        var modes = new[] { "latency", "wake", "scp", "idle", "preauth", "listening" };
        var all = !args.Any(modes.Contains);
        var runs = Option(args, "--runs", 20);
        var wakeRuns = Option(args, "--wake-runs", 10);
        var mib = Option(args, "--mib", 256);
        var idle = Option(args, "--idle", 500);
        var bufferKib = Option(args, "--buffer-kib", 64);
        var silent = Option(args, "--silent", 1000);
        var flood = Option(args, "--flood", 200);

        if (args.Contains("listening"))
        {
            // Its own site (a machine with a network): inetd vs listening vs direct to the machine's daemon, in one run.
            await ListeningBench.RunAsync(runs, Option(args, "--listening-mib", 64), Option(args, "--listening-idle", 100));
            if (!args.Any(a => modes.Contains(a) && a != "listening"))
            {
                return 0;
            }
        }

        await using var site = await RuncTestSite.CreateAsync("gateway-bench-runc", pidsLimit: (idle * 4) + 512);
        var runtime = site.Runtime;
        var machine = await site.CreateMachineAsync(resources: new MachineResources(2, 8192, 2));
        var backend = RecordingBackend.WakingThrough(runtime);
        backend.Set(machine, GatewayAdmission.Running);
        var options = new GatewayOptions
        {
            ListenAddress = IPAddress.Loopback,
            PortRangeStart = 1024,
            PortRangeEnd = 65535,
            BufferSize = bufferKib * 1024,
            ActivityReportInterval = TimeSpan.Zero,
        }.WithRoomFor(idle);
        var connector = new CountingConnector(new InetdSshServerConnector(runtime));
        await using var gateway = new SshGateway(options, connector, backend);
        var port = (await gateway.OpenAsync(machine, 0)).Port;
        var identity = site.IssueUser(machine);
        var bench = new Paths(site, identity, machine, port, args.Contains("--tty"));
        Console.WriteLine(
            $"runc machine {machine} (2 vCPU, 8 GiB limit), gateway port {port}, {Environment.ProcessorCount} host CPUs, gateway buffer {bufferKib} KiB, " +
            $"{(await ProcessRunner.RunAsync("ssh", "-V")).StandardError.Trim()}, {(await ProcessRunner.RunAsync("runc", "--version")).StandardOutput.Split('\n')[0]}");
        Console.WriteLine($"direct baseline: ProxyCommand={bench.ProxyCommand}");

        if (all || args.Contains("preauth"))
        {
            // First, on a heap that has not grown yet (RSS deltas of a later phase reuse freed memory).
            await PreAuthBench.MemoryAsync(connector, () => connector.ConnectCount, backend, machine, silent);
            await PreAuthBench.FloodAsync(connector, () => connector.ConnectCount, backend, machine, flood, Math.Max(runs, 10), async port =>
                await TimeSshAsync([.. site.ClientOptions(identity), "-p", port.ToString(CultureInfo.InvariantCulture), "machine@127.0.0.1", "true"]));
        }

        if (all || args.Contains("latency"))
        {
            await LatencyAsync(bench, runs);
        }

        if (all || args.Contains("wake"))
        {
            await WakeAsync(bench, gateway, backend, wakeRuns);
        }

        if (all || args.Contains("scp"))
        {
            await ScpAsync(bench, mib);
        }

        if (all || args.Contains("idle"))
        {
            // Every runc exec joins a new session keyring owned by the machines' mapped root (host uid 100000 for every
            // machine): the kernel's per-user key quota (kernel.keys.maxkeys 200, maxbytes 20000 by default) caps
            // concurrent execs, hence connections, host-wide. Raised for the run, restored after.
            using var quota = KeyQuota.RaiseTo(keys: (idle * 2) + 1000, bytes: ((idle * 2) + 1000) * 200);
            // Gateway first, on a heap that has not grown yet (RSS deltas of a second phase reuse freed memory).
            var throughGateway = await IdleAsync(gateway, machine, port, idle);
            var runtimeOnly = await RuntimeOnlyAsync(runtime, machine, idle);
            Console.WriteLine(
                $"idle, gateway's own share: managed {(throughGateway.Managed - runtimeOnly.Managed) / 1024:F1} KiB per connection " +
                $"(gateway phase {throughGateway.Managed / 1024:F1} KiB minus runtime-only {runtimeOnly.Managed / 1024:F1} KiB; includes the bench's client socket); " +
                $"RSS of the gateway phase {throughGateway.Rss / 1024:F1} KiB per connection (gateway + runtime in-process)");
        }

        return 0;
    }

    private static async Task LatencyAsync(Paths bench, int runs)
    {
        var viaGateway = new List<double>();
        var viaDirect = new List<double>();
        for (var i = 0; i < 2; i++)
        {
            await TimeSshAsync(bench.GatewayArguments("true"));
            await TimeSshAsync(bench.DirectArguments("true"));
        }

        // Interleaved so that drift of the host's load hits both sides alike.
        for (var i = 0; i < runs; i++)
        {
            viaDirect.Add(await TimeSshAsync(bench.DirectArguments("true")));
            viaGateway.Add(await TimeSshAsync(bench.GatewayArguments("true")));
        }

        BenchFigures.Report("ssh true (runc machine)", viaGateway, viaDirect, "ms");
    }

    private static async Task WakeAsync(Paths bench, SshGateway gateway, RecordingBackend backend, int runs)
    {
        var asleep = new List<double>();
        var running = new List<double>();
        var wakeOnly = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            running.Add(await TimeSshAsync(bench.GatewayArguments("true")));
            gateway.CloseMachineConnections(bench.Machine);
            await bench.Site.Runtime.StopAsync(bench.Machine).WaitAsync(Timeout);
            backend.Set(bench.Machine, GatewayAdmission.SleepingWithLiveSession);
            if (await bench.Site.Runtime.GetStateAsync(bench.Machine) != MachineRuntimeState.Sleeping)
            {
                throw new InvalidOperationException("the machine did not sleep");
            }

            asleep.Add(await TimeSshAsync(bench.GatewayArguments("true")));
        }

        // The runtime's StartAsync alone, for reference (sleep, then time the wake).
        for (var i = 0; i < runs; i++)
        {
            await bench.Site.Runtime.StopAsync(bench.Machine).WaitAsync(Timeout);
            var stopwatch = Stopwatch.StartNew();
            await bench.Site.Runtime.StartAsync(bench.Machine).WaitAsync(Timeout);
            wakeOnly.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        backend.Set(bench.Machine, GatewayAdmission.Running);
        if (backend.Wakes.Count < runs)
        {
            throw new InvalidOperationException($"expected {runs} wakes through the gateway, saw {backend.Wakes.Count}");
        }

        Console.WriteLine(
            $"wake on connect: ssh true to a sleeping machine (live session) median {BenchFigures.Median(asleep):F1} ms (mean {asleep.Average():F1}, n={asleep.Count}), " +
            $"to the running machine median {BenchFigures.Median(running):F1} ms (n={running.Count}); extra wall time {BenchFigures.Median(asleep) - BenchFigures.Median(running):F1} ms " +
            $"(runtime StartAsync alone: median {BenchFigures.Median(wakeOnly):F1} ms)");
    }

    private static async Task ScpAsync(Paths bench, int mib)
    {
        var source = Path.Combine(Path.GetTempPath(), $"dedalus-bench-runc-{Guid.NewGuid():N}.bin");
        var back = source + ".back";
        var remote = $"machine@127.0.0.1:{MachineSshd.HomeDirectory}/bench-{Guid.NewGuid():N}.bin";
        await using (var file = File.Create(source))
        {
            var chunk = new byte[1024 * 1024];
            for (var i = 0; i < mib; i++)
            {
                Random.Shared.NextBytes(chunk);
                await file.WriteAsync(chunk);
            }
        }

        try
        {
            async Task<double> CopyAsync(bool viaGateway, bool upload)
            {
                IReadOnlyList<string> prefix = viaGateway ? bench.GatewayClientArguments("-P") : bench.DirectClientArguments();
                var stopwatch = Stopwatch.StartNew();
                var result = await ProcessRunner.RunAsync("scp", [.. prefix, upload ? source : remote, upload ? remote : back], timeout: Timeout);
                stopwatch.Stop();
                return result.ExitCode == 0 ? stopwatch.Elapsed.TotalMilliseconds : throw new InvalidOperationException(result.ToString());
            }

            foreach (var upload in new[] { true, false })
            {
                var viaGateway = new List<double>();
                var viaDirect = new List<double>();
                var gatewayCpu = TimeSpan.Zero;
                await CopyAsync(viaGateway: true, upload); // warm the page cache on both ends
                for (var i = 0; i < 5; i++)
                {
                    viaDirect.Add(await CopyAsync(viaGateway: false, upload));
                    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                    viaGateway.Add(await CopyAsync(viaGateway: true, upload));
                    gatewayCpu += Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
                }

                BenchFigures.Report($"scp {mib} MiB {(upload ? "upload" : "download")} (runc machine)", viaGateway, viaDirect, "ms");
                Console.WriteLine(
                    $"  throughput median: gateway {mib / (BenchFigures.Median(viaGateway) / 1000):F0} MiB/s, direct {mib / (BenchFigures.Median(viaDirect) / 1000):F0} MiB/s; " +
                    $"gateway process CPU {gatewayCpu.TotalMilliseconds / viaGateway.Count:F0} ms per copy ({gatewayCpu.TotalMilliseconds / viaGateway.Count / mib:F2} ms per MiB)");
            }
        }
        finally
        {
            File.Delete(source);
            File.Delete(back);
        }
    }

    /// <summary>The runtime's own in-process cost per <c>runc exec sshd -i</c> (Process object, pipes), without the gateway.</summary>
    private static async Task<Footprint> RuntimeOnlyAsync(IMachineRuntime runtime, string machine, int count)
    {
        var processes = new List<IMachineProcess>(count);
        var before = await Footprint.MeasureAsync();
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var request = new MachineExecRequest(MachineSshd.InetdArguments);
            await ParallelForAsync(count, async _ =>
            {
                var process = await runtime.ExecAsync(machine, request).WaitAsync(Timeout);
                lock (processes)
                {
                    processes.Add(process);
                }

                var buffer = new byte[256];
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                if (await process.StandardOutput.ReadAsync(buffer, cts.Token) == 0)
                {
                    var error = await new StreamReader(process.StandardError).ReadToEndAsync(cts.Token);
                    throw new InvalidOperationException($"sshd -i wrote no version line (exit {await process.Exited.WaitAsync(Timeout)}): {error}");
                }
            });
            var opened = stopwatch.Elapsed;
            var after = await Footprint.MeasureAsync();
            var delta = (after - before) / count;
            Console.WriteLine(
                $"runtime only (no gateway, after the gateway phase: its RSS reuses freed memory): {count} runc exec sshd -i held (opened in {opened.TotalSeconds:F1} s): per process managed {delta.Managed / 1024:F1} KiB, " +
                $"bench RSS {delta.Rss / 1024:F1} KiB, whole host (MemAvailable) {delta.HostUsed / 1024:F0} KiB");
            return delta;
        }
        finally
        {
            var disposing = Stopwatch.StartNew();
            await Task.WhenAll(processes.Select(p => p.DisposeAsync().AsTask()));
            Console.WriteLine($"  runtime only: {processes.Count} processes killed and disposed in {disposing.Elapsed.TotalSeconds:F1} s");
        }
    }

    private static async Task<Footprint> IdleAsync(SshGateway gateway, string machine, int port, int count)
    {
        var sockets = new List<Socket>(count);
        var clientBanner = "SSH-2.0-DedalusBench\r\n"u8.ToArray();
        var before = await Footprint.MeasureAsync();
        var stopwatch = Stopwatch.StartNew();
        try
        {
            await ParallelForAsync(count, async i =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                lock (sockets)
                {
                    sockets.Add(socket);
                }

                var buffer = new byte[256];
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
                await socket.SendAsync(clientBanner, SocketFlags.None, cts.Token); // first: the gateway starts sshd after it
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token); // sshd's version line
                if (read == 0 || buffer[0] != (byte)'S')
                {
                    throw new InvalidOperationException($"connection {i}: no SSH banner");
                }

            });
            var opened = stopwatch.Elapsed;
            var after = await Footprint.MeasureAsync();
            var delta = (after - before) / count;
            var held = gateway.GetOpenConnectionCount(machine);
            Console.WriteLine($"idle: {count} connections into the runc machine past the SSH version exchange, opened in {opened.TotalSeconds:F1} s; gateway counts {held}");
            Console.WriteLine($"  per connection: managed {delta.Managed / 1024:F1} KiB, bench RSS {delta.Rss / 1024:F1} KiB, whole host (MemAvailable) {delta.HostUsed / 1024:F0} KiB");
            if (held != count)
            {
                throw new InvalidOperationException($"the gateway holds {held} connections, expected {count}");
            }

            return delta;
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            var deadline = Stopwatch.StartNew();
            var reported = 0;
            while (gateway.OpenConnectionCount > 0 && deadline.Elapsed < TimeSpan.FromSeconds(150))
            {
                await Task.Delay(100);
                if ((int)deadline.Elapsed.TotalSeconds / 10 > reported)
                {
                    reported = (int)deadline.Elapsed.TotalSeconds / 10;
                    Console.WriteLine($"  closing: {gateway.OpenConnectionCount} open after {deadline.Elapsed.TotalSeconds:F0} s");
                }
            }

            Console.WriteLine($"  after close: gateway counts {gateway.OpenConnectionCount}, torn down in {deadline.Elapsed.TotalSeconds:F1} s");
        }
    }

    private static async Task<double> TimeSshAsync(IReadOnlyList<string> arguments)
    {
        var stopwatch = Stopwatch.StartNew();
        var result = await ProcessRunner.RunAsync("ssh", arguments, timeout: Timeout);
        stopwatch.Stop();
        return result.ExitCode == 0 ? stopwatch.Elapsed.TotalMilliseconds : throw new InvalidOperationException(result.ToString());
    }

    /// <summary>Runs <paramref name="body"/> for 0..count-1, 16 at a time (sshd -i's LoginGraceTime is 120 s: open fast).</summary>
    private static async Task ParallelForAsync(int count, Func<int, Task> body)
    {
        using var gate = new SemaphoreSlim(16);
        var tasks = Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                await body(i);
            }
            finally
            {
                gate.Release();
            }
        }).ToArray();
        await Task.WhenAll(tasks);
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>Raises kernel.keys.maxkeys and maxbytes (the per-user key quota) when lower; restores them on dispose.</summary>
    private sealed class KeyQuota : IDisposable
    {
        private const string MaxKeys = "/proc/sys/kernel/keys/maxkeys";
        private const string MaxBytes = "/proc/sys/kernel/keys/maxbytes";
        private readonly string _keys;
        private readonly string _bytes;

        private KeyQuota(string keys, string bytes)
        {
            _keys = keys;
            _bytes = bytes;
        }

        public static KeyQuota RaiseTo(int keys, int bytes)
        {
            var quota = new KeyQuota(File.ReadAllText(MaxKeys).Trim(), File.ReadAllText(MaxBytes).Trim());
            if (long.Parse(quota._keys, CultureInfo.InvariantCulture) < keys)
            {
                File.WriteAllText(MaxKeys, keys.ToString(CultureInfo.InvariantCulture));
            }

            if (long.Parse(quota._bytes, CultureInfo.InvariantCulture) < bytes)
            {
                File.WriteAllText(MaxBytes, bytes.ToString(CultureInfo.InvariantCulture));
            }

            Console.WriteLine($"key quota for the run: maxkeys {quota._keys} -> {File.ReadAllText(MaxKeys).Trim()}, maxbytes {quota._bytes} -> {File.ReadAllText(MaxBytes).Trim()} (restored after)");
            return quota;
        }

        public void Dispose()
        {
            File.WriteAllText(MaxKeys, _keys);
            File.WriteAllText(MaxBytes, _bytes);
        }
    }

    /// <summary>Client argv for both paths.</summary>
    /// <param name="site">The runc site.</param>
    /// <param name="identity">The user certificate used on both paths.</param>
    /// <param name="machine">The machine id.</param>
    /// <param name="port">The machine's gateway port.</param>
    /// <param name="tty">Force a tty (<c>-tt</c>) for the <c>ssh true</c> runs: the OpenSSH client then sets TCP_NODELAY.</param>
    private sealed class Paths(RuncTestSite site, UserIdentity identity, string machine, int port, bool tty)
    {
        public RuncTestSite Site => site;

        public string Machine => machine;

        /// <summary>The same sshd -i in the same machine, started by runc exec from a ProxyCommand (ssh runs it as "exec ..." through the shell).</summary>
        public string ProxyCommand =>
            $"runc --root {site.Options.RuncRoot} exec {machine} {string.Join(' ', MachineSshd.InetdArguments)} 2>/dev/null";

        public IReadOnlyList<string> GatewayClientArguments(string portFlag) =>
            [.. site.ClientOptions(identity), portFlag, port.ToString(CultureInfo.InvariantCulture)];

        public IReadOnlyList<string> DirectClientArguments() =>
            [.. site.ClientOptions(identity), "-o", $"ProxyCommand={ProxyCommand}"];

        public IReadOnlyList<string> GatewayArguments(string command) =>
            [.. GatewayClientArguments("-p"), .. Tty, "machine@127.0.0.1", command];

        public IReadOnlyList<string> DirectArguments(string command) =>
            [.. DirectClientArguments(), .. Tty, "machine@127.0.0.1", command];

        private string[] Tty => tty ? ["-tt"] : [];
    }
}
