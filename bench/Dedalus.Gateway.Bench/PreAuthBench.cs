using System.Diagnostics;
using System.Globalization;
using System.Net;
using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Bench;

/// <summary>
/// What a connection that never authenticates costs, and what it takes from those that do: (a) gateway memory per
/// silent connection held open (nothing is started for it), (b) a legitimate login's time during a flood of silent
/// connections against the same login without, measured in the same run. The silent clients run in a child process
/// (<see cref="SilentClients"/>), so that this process's figures are the gateway's alone.
/// </summary>
internal static class PreAuthBench
{
    private const int Sources = 10;

    /// <summary>(a) Opens <paramref name="count"/> silent connections (generous budgets and timeout, so that all are held) and measures.</summary>
    public static async Task MemoryAsync(ISshServerConnector connector, Func<int> startedServers, RecordingBackend backend, string machine, int count)
    {
        var options = new GatewayOptions
        {
            ListenAddress = IPAddress.Loopback,
            MaxConnections = count + 100,
            MaxPendingConnections = count + 100,
            MaxPendingConnectionsPerMachine = count + 100,
            MaxPendingConnectionsPerSource = count + 100,
            IdentificationTimeout = TimeSpan.FromMinutes(10),
            ActivityReportInterval = TimeSpan.Zero,
        };
        await using var gateway = new SshGateway(options, connector, backend);
        var port = (await gateway.OpenAsync(machine, 0)).Port;
        var serversBefore = startedServers();
        var before = await Footprint.MeasureAsync();
        var stopwatch = Stopwatch.StartNew();
        await using (var clients = await StartSilentClientsAsync(port, count, gateway, machine))
        {
            var opened = stopwatch.Elapsed;
            var after = await Footprint.MeasureAsync();
            var delta = (after - before) / count;
            var started = startedServers() - serversBefore;
            Console.WriteLine(
                $"preauth idle: {count} silent connections from {Sources} source addresses held open (opened in {opened.TotalSeconds:F1} s); " +
                $"gateway holds {gateway.GetPendingConnectionCount(machine)} pending, started {started} SSH servers for them");
            Console.WriteLine(
                $"  per silent connection: gateway process RSS {delta.Rss / 1024:F1} KiB, managed heap {delta.Managed / 1024:F1} KiB; " +
                $"kernel slab (the socket structures of both ends) {delta.Slab / 1024:F1} KiB");
        }

        await WaitForAsync(() => gateway.OpenConnectionCount == 0);
    }

    /// <summary>(b) The median of <paramref name="runs"/> logins with <paramref name="flood"/> silent connections held open and without, interleaved; default budgets.</summary>
    public static async Task FloodAsync(
        ISshServerConnector connector, Func<int> startedServers, RecordingBackend backend, string machine, int flood, int runs, Func<int, Task<double>> login)
    {
        var options = new GatewayOptions { ListenAddress = IPAddress.Loopback, ActivityReportInterval = TimeSpan.Zero, PortRangeStart = 1024, PortRangeEnd = 65535 };
        await using var gateway = new SshGateway(options, connector, backend);
        var port = (await gateway.OpenAsync(machine, 0)).Port;
        await login(port);
        await login(port);
        var without = new List<double>();
        var with = new List<double>();
        var floodServers = 0;
        var reopened = 0;
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < runs / 2; i++)
            {
                without.Add(await login(port));
            }

            await using var clients = await StartSilentClientsAsync(port, flood, gateway, machine);
            var serversBefore = startedServers();
            for (var i = 0; i < runs / 2; i++)
            {
                with.Add(await login(port));
            }

            floodServers += startedServers() - serversBefore - (runs / 2);
            reopened += await clients.StopAsync();
        }

        var withMedian = BenchFigures.Median(with);
        var withoutMedian = BenchFigures.Median(without);
        Console.WriteLine(
            $"preauth flood: ssh true median {withMedian:F1} ms with {flood} silent connections held open (n={with.Count}) vs {withoutMedian:F1} ms without (n={without.Count}), " +
            $"ratio {withMedian / withoutMedian:F2}; SSH servers started for the flood: {floodServers}; silent connections the gateway cut and the clients reopened: {reopened} " +
            $"(default budgets, identification timeout {options.IdentificationTimeout.TotalSeconds:F0} s)");
    }

    private static async Task<Clients> StartSilentClientsAsync(int port, int count, SshGateway gateway, string machine)
    {
        var process = TestProcess.Start(Environment.ProcessPath!, ["hold", Int(port), Int(count), Int(Sources), "900"]);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var line = await process.StandardOutput.ReadLineAsync(cts.Token);
        if (line != "ready")
        {
            await process.DisposeAsync();
            throw new InvalidOperationException($"the silent clients did not start: {line} {await process.StandardError.ReadToEndAsync(cts.Token)}");
        }

        await WaitForAsync(() => gateway.GetPendingConnectionCount(machine) >= count);
        return new Clients(process);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition() && stopwatch.Elapsed < TimeSpan.FromMinutes(2))
        {
            await Task.Delay(50);
        }
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The silent clients' process: stopped by closing its stdin; reports how many connections it reopened.</summary>
    private sealed class Clients(TestProcess process) : IAsyncDisposable
    {
        private int? _reopened;

        public async Task<int> StopAsync()
        {
            if (_reopened is { } known)
            {
                return known;
            }

            process.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            var output = await process.StandardOutput.ReadToEndAsync(cts.Token);
            await process.WaitForExitAsync(TimeSpan.FromMinutes(1));
            var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("reopened ", StringComparison.Ordinal));
            _reopened = line is null ? 0 : int.Parse(line["reopened ".Length..], CultureInfo.InvariantCulture);
            return _reopened.Value;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await StopAsync();
            }
            finally
            {
                await process.DisposeAsync();
            }
        }
    }
}
