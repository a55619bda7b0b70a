using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Dedalus.Machines.Network;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Runtime;
using Dedalus.Testing;
using Dedalus.Testing.Network;

// Machine networking: throughput (iperf3, 5 s each way of measuring, same run) and wake time with and without a network.
var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
using var slot = await NetworkTestSlot.AcquireAsync();
await using var internet = await InternetNamespace.CreateAsync(slot);
var data = new RuncDataDirectory("dedalus-network-bench-");
using var keys = new TempDirectory("dedalus-network-bench-keys-");
var options = new RuncRuntimeOptions
{
    DataDirectory = data.Combine("data"),
    Network = new MachineNetworkOptions
    {
        Instance = slot.Instance,
        Subnet = IPNetwork.Parse(slot.MachineSubnet),
        DnsUpstreams = [IPAddress.Parse(internet.Address)],
    },
};
var runtime = new RuncMachineRuntime(options);
await runtime.BaseImage.EnsureAsync();
string[] ids = ["bench-net", "bench-plain"];
try
{
    await Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", keys.Combine("ca"));
    await runtime.WriteSshTrustAsync(new MachineSshTrust([(await File.ReadAllTextAsync(keys.Combine("ca.pub"))).Trim()], ReadOnlyMemory<byte>.Empty));
    foreach (var id in ids)
    {
        data.Track(id);
        var key = keys.Combine(id);
        await Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key);
        await Run("ssh-keygen", "-q", "-s", keys.Combine("ca"), "-h", "-I", id, "-n", id, "-V", "-5m:+1h", key + ".pub");
        var network = id == "bench-net" ? new MachineNetwork(IPAddress.Parse(slot.MachineAddress(1)), MachineNetworkPolicy.Default) : null;
        await runtime.CreateAsync(new MachineSpec(
            id, new MachineResources(2, 1024, 1), new MachineSshMaterial(await File.ReadAllTextAsync(key), await File.ReadAllTextAsync(key + "-cert.pub")), network));
    }

    // Wake: alternate the two machines, a start after a stop, the first of each not counted (caches).
    var wakes = ids.ToDictionary(id => id, _ => new List<double>());
    for (var i = 0; i <= runs; i++)
    {
        foreach (var id in ids)
        {
            await runtime.StopAsync(id);
            var stopwatch = Stopwatch.StartNew();
            await runtime.StartAsync(id);
            if (i > 0)
            {
                wakes[id].Add(stopwatch.Elapsed.TotalMilliseconds);
            }
        }
    }

    var state = JsonDocument.Parse((await Run("runc", "--root", options.RuncRoot, "state", "bench-net")).StandardOutput);
    var pid = state.RootElement.GetProperty("pid").GetInt32().ToString(CultureInfo.InvariantCulture);
    var host = new List<double>();
    var machine = new List<double>();
    for (var i = 0; i < Math.Max(1, runs / 2); i++)
    {
        host.Add(await IperfAsync([]));
        machine.Add(await IperfAsync(["nsenter", "--target", pid, "--net"]));
    }

    var withNetwork = Median(wakes["bench-net"]);
    var without = Median(wakes["bench-plain"]);
    Console.WriteLine($"iperf3 host -> internet ns:    {Median(host):F0} Mbit/s (median of {host.Count}, 5 s each)");
    Console.WriteLine($"iperf3 machine -> internet ns: {Median(machine):F0} Mbit/s (median of {machine.Count}; NAT, egress rules)");
    Console.WriteLine($"ratio machine/host:            {Median(machine) / Median(host):F2}x (goal >= 0.8x)");
    Console.WriteLine($"wake with network:             {withNetwork:F0} ms (median of {runs})");
    Console.WriteLine($"wake without network:          {without:F0} ms (median of {runs})");
    Console.WriteLine($"extra for the network:         {withNetwork - without:F0} ms (goal < 150 ms)");
}
finally
{
    foreach (var id in ids)
    {
        await runtime.DeleteAsync(id);
    }

    await runtime.ShutdownNetworkAsync();
    await data.RemoveAsync(options.RuncRoot, ids, id => runtime.DeleteAsync(id));
}

async Task<double> IperfAsync(string[] prefix)
{
    await using var server = await internet.StartIperfServerAsync();
    string[] client = [.. prefix, "iperf3", "-J", "-t", "5", "-c", internet.Address];
    var result = await ProcessRunner.RunAsync(client[0], client[1..], timeout: TimeSpan.FromSeconds(60));
    if (result.ExitCode != 0)
    {
        throw new InvalidOperationException($"{string.Join(' ', client)}: {result}");
    }

    using var json = JsonDocument.Parse(result.StandardOutput);
    return json.RootElement.GetProperty("end").GetProperty("sum_received").GetProperty("bits_per_second").GetDouble() / 1e6;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

static async Task<ProcessResult> Run(string fileName, params string[] arguments)
{
    var result = await ProcessRunner.RunAsync(fileName, arguments);
    return result.ExitCode == 0 ? result : throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)}: {result}");
}
