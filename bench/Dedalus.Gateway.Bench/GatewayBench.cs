using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Dedalus.Testing.Sshd;

namespace Dedalus.Gateway.Bench;

/// <summary>
/// Measures the gateway against the same sshd reached without it (a plain <c>sshd -D</c> on a
/// port, same configuration): <c>ssh true</c> latency, scp throughput, the memory cost of
/// idle connections (each with an <c>sshd -i</c> behind it), and what silent unauthenticated
/// connections cost and take from a login (<see cref="PreAuthBench"/>).
/// </summary>
internal static class GatewayBench
{
    private const string Machine = "dm-0be00000-0000-4000-8000-000000000001";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    public static async Task<int> RunAsync(string[] args)
    {
        var all = !args.Any(a => a is "latency" or "scp" or "idle" or "preauth");
        var runs = Option(args, "--runs", 20);
        var mib = Option(args, "--mib", 256);
        var idle = Option(args, "--idle", 500);
        var silent = Option(args, "--silent", 1000);
        var flood = Option(args, "--flood", 200);
        var bufferKib = Option(args, "--buffer-kib", 64);

        using var site = await SshTestSite.CreateAsync("gateway-bench", loginGraceSeconds: 0);
        var sshd = new HostSshdConnector();
        var backend = new RecordingBackend();
        var config = site.AddMachine(Machine);
        sshd.AddMachine(Machine, config);
        backend.Set(Machine, GatewayAdmission.Running);
        var options = new GatewayOptions
        {
            ListenAddress = IPAddress.Loopback,
            BufferSize = bufferKib * 1024,
        }.WithRoomFor(idle);
        await using var gateway = new SshGateway(options, sshd, backend);
        var gatewayPort = (await gateway.OpenAsync(Machine, 0)).Port;
        var directPort = FreePort.Next();
        await using var direct = await HostSshd.StartAsync(config, directPort, "-o", $"ListenAddress=127.0.0.1:{directPort}");
        var identity = await site.IssueAsync("sess-bench", Machine, 1);
        Console.WriteLine($"gateway port {gatewayPort}, direct sshd -D port {directPort}, {Environment.ProcessorCount} CPUs, gateway buffer {bufferKib} KiB, OpenSSH {(await ProcessRunner.RunAsync("ssh", "-V")).StandardError.Trim()}");

        if (all || args.Contains("preauth"))
        {
            // First, on a heap that has not grown yet (RSS deltas of a later phase reuse freed memory).
            await PreAuthBench.MemoryAsync(sshd, () => sshd.ConnectCount, backend, Machine, silent);
            await PreAuthBench.FloodAsync(sshd, () => sshd.ConnectCount, backend, Machine, flood, Math.Max(runs, 10), async port =>
            {
                var stopwatch = Stopwatch.StartNew();
                var result = await ProcessRunner.RunAsync("ssh", site.SshArguments(identity, port, "true"), timeout: Timeout);
                return result.ExitCode == 0 ? stopwatch.Elapsed.TotalMilliseconds : throw new InvalidOperationException(result.ToString());
            });
        }

        if (all || args.Contains("latency"))
        {
            await LatencyAsync(site, identity, gatewayPort, directPort, runs);
        }

        if (all || args.Contains("scp"))
        {
            await ScpAsync(site, identity, gatewayPort, directPort, mib);
        }

        if (all || args.Contains("idle"))
        {
            var (runtimeManaged, runtimeRss) = await RuntimeOnlyAsync(sshd, idle);
            await IdleAsync(gateway, sshd, gatewayPort, idle, runtimeManaged, runtimeRss);
        }

        return 0;
    }

    private static async Task LatencyAsync(SshTestSite site, UserIdentity identity, int gatewayPort, int directPort, int runs)
    {
        async Task<double[]> MeasureAsync(int port)
        {
            var times = new List<double>();
            for (var i = -2; i < runs; i++)
            {
                var stopwatch = Stopwatch.StartNew();
                var result = await ProcessRunner.RunAsync("ssh", site.SshArguments(identity, port, "true"), timeout: Timeout);
                stopwatch.Stop();
                if (result.ExitCode != 0)
                {
                    throw new InvalidOperationException(result.ToString());
                }

                if (i >= 0)
                {
                    times.Add(stopwatch.Elapsed.TotalMilliseconds);
                }
            }

            times.Sort();
            return [.. times];
        }

        // Interleave to share any drift of the machine's load.
        var viaGateway = new List<double>();
        var viaDirect = new List<double>();
        for (var round = 0; round < 2; round++)
        {
            viaDirect.AddRange(await MeasureAsync(directPort));
            viaGateway.AddRange(await MeasureAsync(gatewayPort));
        }

        BenchFigures.Report("ssh true", viaGateway, viaDirect, "ms");
    }

    private static async Task ScpAsync(SshTestSite site, UserIdentity identity, int gatewayPort, int directPort, int mib)
    {
        var source = Path.Combine(Path.GetTempPath(), $"dedalus-bench-{Guid.NewGuid():N}.bin");
        var target = $"/tmp/dedalus-bench-target-{Guid.NewGuid():N}.bin";
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
            var back = source + ".back";
            async Task<double> CopyAsync(int port, bool upload)
            {
                var remote = $"root@127.0.0.1:{target}";
                var stopwatch = Stopwatch.StartNew();
                var result = await ProcessRunner.RunAsync("scp", [.. site.ClientOptions(identity), "-P", port.ToString(CultureInfo.InvariantCulture), upload ? source : remote, upload ? remote : back], timeout: Timeout);
                stopwatch.Stop();
                return result.ExitCode == 0 ? stopwatch.Elapsed.TotalMilliseconds : throw new InvalidOperationException(result.ToString());
            }

            foreach (var upload in new[] { true, false })
            {
                var viaGateway = new List<double>();
                var viaDirect = new List<double>();
                for (var i = 0; i < 5; i++)
                {
                    viaDirect.Add(await CopyAsync(directPort, upload));
                    viaGateway.Add(await CopyAsync(gatewayPort, upload));
                }

                BenchFigures.Report($"scp {mib} MiB {(upload ? "upload" : "download")}", viaGateway, viaDirect, "ms");
                Console.WriteLine($"  throughput median: gateway {mib / (BenchFigures.Median(viaGateway) / 1000):F0} MiB/s, direct {mib / (BenchFigures.Median(viaDirect) / 1000):F0} MiB/s");
            }

            File.Delete(back);
        }
        finally
        {
            File.Delete(source);
            File.Delete(target);
        }
    }

    /// <summary>The test runtime's own cost per sshd -i (Process objects, pipes), to subtract from the gateway figure.</summary>
    private static async Task<(double Managed, double Rss)> RuntimeOnlyAsync(HostSshdConnector sshd, int count)
    {
        var processes = new List<Dedalus.Machines.Runtime.IMachineProcess>(count);
        var buffer = new byte[256];
        await SettleAsync();
        var managedBefore = GC.GetTotalMemory(forceFullCollection: true);
        var rssBefore = RssBytes();
        for (var i = 0; i < count; i++)
        {
            var process = await sshd.ConnectAsync(Machine);
            processes.Add(process);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            _ = await process.StandardOutput.ReadAsync(buffer, cts.Token); // the version line
        }

        await SettleAsync();
        var managed = (GC.GetTotalMemory(forceFullCollection: true) - managedBefore) / (double)count;
        var rss = (RssBytes() - rssBefore) / (double)count;
        Console.WriteLine($"runtime only (no gateway): {count} sshd -i held: managed {managed / 1024:F1} KiB, RSS {rss / 1024:F1} KiB per process");
        foreach (var process in processes)
        {
            await process.DisposeAsync();
        }

        return (managed, rss);
    }

    private static async Task IdleAsync(SshGateway gateway, HostSshdConnector sshd, int gatewayPort, int count, double runtimeManaged, double runtimeRss)
    {
        var sockets = new List<Socket>(count);
        var clientBanner = "SSH-2.0-DedalusBench\r\n"u8.ToArray();
        var buffer = new byte[256];
        await SettleAsync();
        var managedBefore = GC.GetTotalMemory(forceFullCollection: true);
        var rssBefore = RssBytes();
        var stopwatch = Stopwatch.StartNew();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gatewayPort), cts.Token);
                await socket.SendAsync(clientBanner, SocketFlags.None, cts.Token); // first: the gateway starts sshd after it
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token); // sshd's version line
                if (read == 0 || buffer[0] != (byte)'S')
                {
                    throw new InvalidOperationException($"connection {i}: no SSH banner");
                }

                sockets.Add(socket);
            }

            var opened = stopwatch.Elapsed;
            await SettleAsync();
            var managedAfter = GC.GetTotalMemory(forceFullCollection: true);
            var rssAfter = RssBytes();
            Console.WriteLine($"idle: {count} connections past the SSH version exchange opened in {opened.TotalSeconds:F1} s; gateway counts {gateway.GetOpenConnectionCount(Machine)}, live sshd -i {sshd.LiveProcessCount}");
            Console.WriteLine($"  managed heap: +{(managedAfter - managedBefore) / 1024.0 / 1024:F1} MiB = {(managedAfter - managedBefore) / (double)count / 1024:F1} KiB per connection");
            Console.WriteLine($"  process RSS:  +{(rssAfter - rssBefore) / 1024.0 / 1024:F1} MiB = {(rssAfter - rssBefore) / (double)count / 1024:F1} KiB per connection");
            Console.WriteLine($"  gateway's own share (minus the runtime-only figures): managed {(((managedAfter - managedBefore) / (double)count) - runtimeManaged) / 1024:F1} KiB, RSS {(((rssAfter - rssBefore) / (double)count) - runtimeRss) / 1024:F1} KiB per connection (includes the bench's client socket)");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            var deadline = Stopwatch.StartNew();
            while ((gateway.OpenConnectionCount > 0 || sshd.LiveProcessCount > 0) && deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100);
            }

            Console.WriteLine($"  after close: gateway counts {gateway.OpenConnectionCount}, live sshd -i {sshd.LiveProcessCount}, torn down in {deadline.Elapsed.TotalSeconds:F1} s");
        }
    }

    private static async Task SettleAsync()
    {
        await Task.Delay(500);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static long RssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
