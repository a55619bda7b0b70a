using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dedalus.Gateway.Tests.Runc;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway.Bench;

/// <summary>
/// <c>runc listening</c>: one real runc machine with a network, reached three ways in one run: through the gateway with
/// <c>sshd -i</c> per connection (inetd), through the gateway to the machine's one <c>sshd -D</c> (listening), and that same
/// daemon reached directly (<c>ssh -b GATEWAY_ADDRESS</c> to the machine's address, as root, which the machine network's
/// rules allow). Prints a markdown table (lines starting with <c>|</c>) that bench/run puts in its report.
/// </summary>
internal static class ListeningBench
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    public static async Task RunAsync(int runs, int mib, int idle)
    {
        await using var site = await RuncTestSite.CreateAsync("gateway-bench-listen", pidsLimit: (idle * 4) + 512, network: true);
        var machine = await site.CreateMachineAsync(resources: new MachineResources(2, 8192, 2));
        var endPoint = site.SshEndPointOf(machine)!;
        var options = new GatewayOptions
        {
            ListenAddress = IPAddress.Loopback,
            PortRangeStart = 1024,
            PortRangeEnd = 65535,
            ActivityReportInterval = TimeSpan.Zero,
        }.WithRoomFor(idle);
        var inetdBackend = RecordingBackend.WakingThrough(site.Runtime);
        var listeningBackend = RecordingBackend.WakingThrough(site.Runtime);
        inetdBackend.Set(machine, GatewayAdmission.Running);
        listeningBackend.Set(machine, GatewayAdmission.Running);
        var fallback = new CountingConnector(new InetdSshServerConnector(site.Runtime));
        await using var connector = new ListeningSshServerConnector(site.Runtime, (id, _) => ValueTask.FromResult(site.SshEndPointOf(id)), site.GatewayAddress, fallback);
        await using var inetdGateway = new SshGateway(options, new InetdSshServerConnector(site.Runtime), inetdBackend);
        await using var listeningGateway = new SshGateway(options, connector, listeningBackend);
        var inetdPort = (await inetdGateway.OpenAsync(machine, 0)).Port;
        var listeningPort = (await listeningGateway.OpenAsync(machine, 0)).Port;
        if (!await connector.WarmAsync(machine))
        {
            throw new InvalidOperationException("the machine's sshd daemon did not start");
        }

        var identity = site.IssueUser(machine);
        string[] client = [.. site.ClientOptions(identity)];
        string[] Gateway(int port) => [.. client, "-p", port.ToString(CultureInfo.InvariantCulture)];
        string[] direct = [.. client, "-b", site.GatewayAddress.ToString(), "-o", "HostKeyAlias=127.0.0.1", "-p", endPoint.Port.ToString(CultureInfo.InvariantCulture)];
        var gatewayTarget = "machine@127.0.0.1";
        var directTarget = $"machine@{endPoint.Address}";
        Console.WriteLine($"listening: runc machine {machine} at {endPoint}, gateway address {site.GatewayAddress}, inetd port {inetdPort}, listening port {listeningPort}, {Environment.ProcessorCount} host CPUs");

        // ssh true, interleaved (direct, inetd, listening) after two warm-up rounds.
        var latency = new Dictionary<string, List<double>> { ["direct"] = [], ["inetd"] = [], ["listening"] = [] };
        for (var i = -2; i < runs; i++)
        {
            var d = await TimeAsync("ssh", [.. direct, directTarget, "true"]);
            var a = await TimeAsync("ssh", [.. Gateway(inetdPort), gatewayTarget, "true"]);
            var b = await TimeAsync("ssh", [.. Gateway(listeningPort), gatewayTarget, "true"]);
            if (i >= 0)
            {
                latency["direct"].Add(d);
                latency["inetd"].Add(a);
                latency["listening"].Add(b);
            }
        }

        // scp of mib MiB up and down, listening gateway vs direct, interleaved, n=5 each after a warm-up copy.
        var source = Path.Combine(Path.GetTempPath(), $"dedalus-bench-listen-{Guid.NewGuid():N}.bin");
        var back = source + ".back";
        var remotePath = $"{MachineSshd.HomeDirectory}/bench-{Guid.NewGuid():N}.bin";
        await using (var file = File.Create(source))
        {
            var chunk = new byte[1024 * 1024];
            for (var i = 0; i < mib; i++)
            {
                Random.Shared.NextBytes(chunk);
                await file.WriteAsync(chunk);
            }
        }

        var scp = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        try
        {
            string[] scpGateway = [.. client, "-P", listeningPort.ToString(CultureInfo.InvariantCulture)];
            string[] scpDirect = [.. client, "-o", $"BindAddress={site.GatewayAddress}", "-o", "HostKeyAlias=127.0.0.1", "-P", endPoint.Port.ToString(CultureInfo.InvariantCulture)];
            foreach (var upload in new[] { true, false })
            {
                var name = upload ? "up" : "down";
                scp["gateway " + name] = [];
                scp["direct " + name] = [];
                string[] Copy(string[] prefix, string host) => [.. prefix, upload ? source : $"{host}:{remotePath}", upload ? $"{host}:{remotePath}" : back];
                if (upload)
                {
                    await TimeAsync("scp", Copy(scpGateway, gatewayTarget));
                }

                for (var i = 0; i < 5; i++)
                {
                    scp["direct " + name].Add(await TimeAsync("scp", Copy(scpDirect, directTarget)));
                    scp["gateway " + name].Add(await TimeAsync("scp", Copy(scpGateway, gatewayTarget)));
                }
            }
        }
        finally
        {
            File.Delete(source);
            File.Delete(back);
        }

        // Host memory per idle connection (past the SSH version exchange), each path in turn.
        var inetdIdle = await IdleAsync(inetdGateway, machine, inetdPort, idle);
        var listeningIdle = await IdleAsync(listeningGateway, machine, listeningPort, idle);

        if (fallback.ConnectCount > 0)
        {
            Console.WriteLine($"listening: WARNING {fallback.ConnectCount} connections of the listening gateway fell back to sshd -i");
        }

        var directMedian = BenchFigures.Median(latency["direct"]);
        Console.WriteLine();
        Console.WriteLine($"| path (runc machine with a network) | ssh true median ms | p90 ms | vs direct (median) | n |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var (name, values) in latency)
        {
            Console.WriteLine($"| {Label(name)} | {BenchFigures.Median(values):F1} | {Percentile(values, 0.9):F1} | {BenchFigures.Median(values) / directMedian:F2}x | {values.Count} |");
        }

        Console.WriteLine();
        Console.WriteLine($"| scp {mib} MiB | gateway (listening) median ms | direct median ms | gateway/direct | gateway MiB/s | direct MiB/s | n |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var name in new[] { "up", "down" })
        {
            var g = BenchFigures.Median(scp["gateway " + name]);
            var d = BenchFigures.Median(scp["direct " + name]);
            Console.WriteLine($"| {(name == "up" ? "upload" : "download")} | {g:F0} | {d:F0} | {g / d:F2}x | {mib / (g / 1000):F0} | {mib / (d / 1000):F0} | {scp["gateway " + name].Count} |");
        }

        Console.WriteLine();
        Console.WriteLine($"| idle SSH connection ({idle} held) | host, KiB per connection (gateway process RSS + runc processes) | of which runc processes | machine cgroup, KiB per connection |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| gateway, sshd -i per connection (inetd) | {inetdIdle.Host / 1024:F0} | {inetdIdle.Runc / 1024:F0} | {inetdIdle.Machine / 1024:F0} |");
        Console.WriteLine($"| gateway, machine daemon (listening) | {listeningIdle.Host / 1024:F0} | {listeningIdle.Runc / 1024:F0} | {listeningIdle.Machine / 1024:F0} |");
        Console.WriteLine();
    }

    private static string Label(string name) => name switch
    {
        "direct" => "direct to the machine's daemon (ssh -b gateway address)",
        "inetd" => "gateway, sshd -i per connection (inetd)",
        _ => "gateway, machine daemon (listening)",
    };

    private static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    private static async Task<double> TimeAsync(string tool, IReadOnlyList<string> arguments)
    {
        var stopwatch = Stopwatch.StartNew();
        var result = await ProcessRunner.RunAsync(tool, arguments, timeout: Timeout);
        stopwatch.Stop();
        return result.ExitCode == 0 ? stopwatch.Elapsed.TotalMilliseconds : throw new InvalidOperationException(result.ToString());
    }

    /// <summary>Holds <paramref name="count"/> connections past the version exchange; bytes per connection: host side, its runc share, the machine's cgroup.</summary>
    private static async Task<(double Host, double Runc, double Machine)> IdleAsync(SshGateway gateway, string machine, int port, int count)
    {
        var sockets = new List<Socket>(count);
        var (rssBefore, runcBefore, machineBefore) = await MeasureAsync(machine);
        try
        {
            using var gate = new SemaphoreSlim(16);
            await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
            {
                await gate.WaitAsync();
                try
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    lock (sockets)
                    {
                        sockets.Add(socket);
                    }

                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
                    await socket.SendAsync("SSH-2.0-DedalusBench\r\n"u8.ToArray(), SocketFlags.None, cts.Token);
                    var buffer = new byte[256];
                    if (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) == 0 || buffer[0] != (byte)'S')
                    {
                        throw new InvalidOperationException("no SSH banner");
                    }
                }
                finally
                {
                    gate.Release();
                }
            }));
            var (rssAfter, runcAfter, machineAfter) = await MeasureAsync(machine);
            var runc = (runcAfter - runcBefore) / count;
            return (((rssAfter - rssBefore) / count) + runc, runc, (machineAfter - machineBefore) / count);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            var deadline = Stopwatch.StartNew();
            while (gateway.GetOpenConnectionCount(machine) > 0 && deadline.Elapsed < TimeSpan.FromSeconds(150))
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>This process's RSS, the summed RSS of the host's runc processes, the machine's memory cgroup usage (bytes).</summary>
    private static async Task<(double Rss, double Runc, double Machine)> MeasureAsync(string machine)
    {
        var footprint = await Footprint.MeasureAsync();
        double runc = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out _)
                    && File.ReadAllText(Path.Combine(directory, "comm")).Trim() == "runc")
                {
                    var line = File.ReadLines(Path.Combine(directory, "status")).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                    runc += line is null ? 0 : long.Parse(line["VmRSS:".Length..].Trim().Replace(" kB", string.Empty, StringComparison.Ordinal), CultureInfo.InvariantCulture) * 1024.0;
                }
            }
            catch (IOException)
            {
            }
        }

        var cgroup = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? $"/sys/fs/cgroup/dedalus/{machine}/memory.current" : $"/sys/fs/cgroup/memory/dedalus/{machine}/memory.usage_in_bytes";
        var usage = double.Parse(Encoding.ASCII.GetString(await File.ReadAllBytesAsync(cgroup)).Trim(), CultureInfo.InvariantCulture);
        return (footprint.Rss, runc, usage);
    }
}
