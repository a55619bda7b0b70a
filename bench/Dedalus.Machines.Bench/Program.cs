using System.Diagnostics;
using System.Globalization;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Runtime;
using Dedalus.Testing;

// Per-machine uid ranges: create, first start and wake of a machine in the shared range (baseline) vs in its own range,
// interleaved in one run (the first round of each is not counted: caches). Prints a Markdown table.
var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
using var keys = new TempDirectory("dedalus-machines-bench-keys-");
var modes = new[] { ("shared range", (MachineUidPool?)null), ("own range", MachineUidPool.Default) }
    .Select(m => (Name: m.Item1, Data: new RuncDataDirectory("dedalus-machines-bench-"), Pool: m.Item2))
    .Select(m => (m.Name, m.Data, Runtime: new RuncMachineRuntime(new RuncRuntimeOptions { DataDirectory = m.Data.Combine("data"), MachineUids = m.Pool })))
    .ToList();
var figures = modes.ToDictionary(m => m.Name, _ => (Create: new List<double>(), FirstStart: new List<double>(), Wake: new List<double>()));
try
{
    await Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", keys.Combine("ca"));
    var ca = (await File.ReadAllTextAsync(keys.Combine("ca.pub"))).Trim();
    foreach (var mode in modes)
    {
        await mode.Runtime.BaseImage.EnsureAsync();
        await mode.Runtime.WriteSshTrustAsync(new MachineSshTrust([ca], ReadOnlyMemory<byte>.Empty));
    }

    for (var i = 0; i <= runs; i++)
    {
        // Alternate which mode goes first.
        foreach (var mode in i % 2 == 0 ? modes : [.. Enumerable.Reverse(modes)])
        {
            var id = $"bench-uid-{i}-{(mode.Name == "own range" ? "own" : "shared")}";
            mode.Data.Track(id);
            var key = keys.Combine(id);
            await Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key);
            await Run("ssh-keygen", "-q", "-s", keys.Combine("ca"), "-h", "-I", id, "-n", id, "-V", "-5m:+1h", key + ".pub");
            var spec = new MachineSpec(id, new MachineResources(1, 512, 1), new MachineSshMaterial(await File.ReadAllTextAsync(key), await File.ReadAllTextAsync(key + "-cert.pub")));
            var create = await Time(() => mode.Runtime.CreateAsync(spec));
            var firstStart = await Time(() => mode.Runtime.StartAsync(id));
            await mode.Runtime.StopAsync(id);
            var wake = await Time(() => mode.Runtime.StartAsync(id));
            await mode.Runtime.StopAsync(id);
            await mode.Runtime.DeleteAsync(id);
            if (i > 0)
            {
                var f = figures[mode.Name];
                f.Create.Add(create);
                f.FirstStart.Add(firstStart);
                f.Wake.Add(wake);
            }
        }
    }

    var (baseline, own) = (figures["shared range"], figures["own range"]);
    Console.WriteLine($"## Machine create and wake: shared uid range vs a range of its own ({runs} runs each, interleaved, medians)");
    Console.WriteLine();
    Console.WriteLine("| step | shared range (ms) | own range (ms) | own / shared | own - shared (ms) |");
    Console.WriteLine("|---|---|---|---|---|");
    foreach (var (name, a, b) in new[] { ("create", baseline.Create, own.Create), ("first start", baseline.FirstStart, own.FirstStart), ("wake (start after a stop)", baseline.Wake, own.Wake) })
    {
        var (ma, mb) = (Median(a), Median(b));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {ma:F0} | {mb:F0} | {mb / ma:F2}x | {mb - ma:F0} |"));
    }
}
finally
{
    foreach (var mode in modes)
    {
        await mode.Data.RemoveAsync(mode.Runtime.Options.RuncRoot, await mode.Runtime.ListAsync(), id => mode.Runtime.DeleteAsync(id));
    }
}

static async Task<double> Time(Func<Task> step)
{
    var stopwatch = Stopwatch.StartNew();
    await step();
    return stopwatch.Elapsed.TotalMilliseconds;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

static async Task Run(string file, params string[] arguments)
{
    var result = await ProcessRunner.RunAsync(file, arguments);
    if (result.ExitCode != 0)
    {
        throw new InvalidOperationException($"{file} {string.Join(' ', arguments)}: {result}");
    }
}
