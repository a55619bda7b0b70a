using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.EndToEnd.Bench;
using Dedalus.Testing;
using static Dedalus.EndToEnd.Bench.Figures;

// End-to-end timings against a running dev server (./bench starts one with ./run on a private data
// directory), each next to its baseline measured in the same run; prints a markdown section.
// Usage: Dedalus.EndToEnd.Bench --cli PATH --credentials FILE --machine ID [--runs N] [--sleeps N] [--exec-runs N] [--exec-rate N]
// (--exec-runs: runs of each execution latency and throughput figure, default --runs; --exec-rate: executions in each
// per-second figure, default 10 x --exec-runs).
var cli = Option("--cli") ?? throw new ArgumentException("--cli PATH is required");
var credentials = Option("--credentials") ?? throw new ArgumentException("--credentials FILE is required");
var machineId = Option("--machine") ?? throw new ArgumentException("--machine ID is required");
var runs = int.Parse(Option("--runs") ?? "20", CultureInfo.InvariantCulture);
var sleeps = int.Parse(Option("--sleeps") ?? "5", CultureInfo.InvariantCulture);
var execRuns = int.Parse(Option("--exec-runs") ?? runs.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
var execRate = int.Parse(Option("--exec-rate") ?? (10 * execRuns).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
// A single-file .NET bundle loads the shared framework through libhostfxr; a NativeAOT binary does not.
var cliKind = File.ReadAllText(cli, Encoding.Latin1).Contains("libhostfxr", StringComparison.Ordinal) ? "single-file, framework-dependent" : "NativeAOT";
var timeout = TimeSpan.FromMinutes(2);
var environment = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["DEDALUS_CREDENTIALS_FILE"] = credentials,
    ["DEDALUS_BASE_URL"] = string.Empty,
    ["DEDALUS_API_KEY"] = string.Empty,
};
var report = new StringBuilder();
var work = Directory.CreateTempSubdirectory("dedalus-e2e-bench-").FullName;
File.SetUnixFileMode(work, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
try
{
    await EnsureRunningAsync();

    // A pre-made certificate: one session for our own key, then plain ssh with the same options `dedalus ssh` uses.
    var key = Path.Combine(work, "key");
    await CheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", key]);
    var created = await CheckedAsync(cli, ["machines", "ssh", "create", "--machine-id", machineId, "--public-key", "@" + key + ".pub", "--format", "raw"]);
    var session = JsonSerializer.Deserialize(created.StandardOutput, DedalusJsonContext.Default.SshSession)!;
    if (session.Status != SshSessionStatuses.Ready || session.Connection?.UserCertificate is null || session.Connection.HostTrust is null)
    {
        throw new InvalidOperationException($"session not ready: {created.StandardOutput}");
    }

    var connection = session.Connection;
    File.WriteAllText(key + "-cert.pub", connection.UserCertificate.Trim() + "\n");
    File.WriteAllText(Path.Combine(work, "known_hosts"), $"@cert-authority {connection.HostTrust!.HostPattern} {connection.HostTrust.PublicKey}\n");
    string[] sshTo =
    [
        "-i", key, "-o", $"CertificateFile={key}-cert.pub", "-o", $"UserKnownHostsFile={Path.Combine(work, "known_hosts")}",
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-p", connection.Port.ToString(CultureInfo.InvariantCulture), "--", $"{connection.SshUsername}@{connection.Endpoint}",
    ];
    string[] bareSsh = [.. sshTo, "true"];
    string[] dedalusSsh = ["ssh", machineId, "--", "true"];

    // 1. API to prompt: dedalus ssh (key, session, cert, files, ssh) vs ssh with the certificate already made. Interleaved.
    var viaCli = new List<double>();
    var viaSsh = new List<double>();
    await TimeAsync(cli, dedalusSsh);
    await TimeAsync("ssh", bareSsh);
    for (var i = 0; i < runs; i++)
    {
        viaCli.Add(await TimeAsync(cli, dedalusSsh));
        viaSsh.Add(await TimeAsync("ssh", bareSsh));
    }

    var timing = await CheckedAsync(cli, ["ssh", "--timing", machineId, "--", "true"]);
    var timingLine = timing.StandardError.Split('\n').FirstOrDefault(l => l.StartsWith("timing:", StringComparison.Ordinal))?.Trim();

    report.AppendLine("### API to prompt (running machine)").AppendLine()
        .AppendLine($"`dedalus ssh {machineId} -- true` (new key, API session, certificate, temporary files, ssh through the gateway) vs bare `ssh ... true` through the same gateway with a certificate made beforehand; {runs} runs each, interleaved.").AppendLine()
        .AppendLine("| command | median ms | p90 ms | min ms |").AppendLine("|---|---:|---:|---:|")
        .AppendLine(Row("dedalus ssh ID -- true", viaCli))
        .AppendLine(Row("ssh (pre-made certificate) -- true (baseline)", viaSsh))
        .AppendLine().AppendLine($"Ratio dedalus ssh / bare ssh (medians): **{Median(viaCli) / Median(viaSsh):F2}x**, API overhead **{Median(viaCli) - Median(viaSsh):F0} ms**.").AppendLine();
    if (timingLine is not null)
    {
        report.AppendLine($"One run with `dedalus ssh --timing`: `{timingLine}`.").AppendLine();
    }

    // 2. Sleeping machine: dedalus ssh that has to wake it vs the running figure above.
    var wakes = new List<double>();
    for (var i = 0; i < sleeps; i++)
    {
        await CheckedAsync(cli, ["machines", "sleep", "--machine-id", machineId, "--format", "raw"]);
        await WaitPhaseAsync("sleeping");
        wakes.Add(await TimeAsync(cli, dedalusSsh));
    }

    report.AppendLine("### Extra time for a sleeping machine").AppendLine()
        .AppendLine($"`dedalus ssh ID -- true` on a machine put to sleep just before (session answers `wake_in_progress`, the machine starts: overlay root, home mount, runc run), {sleeps} runs, vs the running-machine figure.").AppendLine()
        .AppendLine("| machine | median ms | p90 ms | min ms |").AppendLine("|---|---:|---:|---:|")
        .AppendLine(Row("sleeping (wake + login)", wakes))
        .AppendLine(Row("running (baseline)", viaCli))
        .AppendLine().AppendLine($"Extra time to wake (medians): **{Median(wakes) - Median(viaCli):F0} ms** ({Median(wakes) / Median(viaCli):F2}x).").AppendLine();

    // 3. CLI cold start: dedalus --version vs /bin/true and ssh -V.
    var version = new List<double>();
    var trueTimes = new List<double>();
    var sshVersion = new List<double>();
    await TimeAsync(cli, ["--version"]);
    for (var i = 0; i < runs; i++)
    {
        version.Add(await TimeAsync(cli, ["--version"]));
        trueTimes.Add(await TimeAsync("/bin/true", []));
        sshVersion.Add(await TimeAsync("ssh", ["-V"]));
    }

    report.AppendLine("### CLI cold start").AppendLine()
        .AppendLine($"Process start to exit, {runs} runs each, interleaved; `{cli}` as ./build published it ({cliKind}).").AppendLine()
        .AppendLine("| command | median ms | p90 ms | min ms |").AppendLine("|---|---:|---:|---:|")
        .AppendLine(Row("dedalus --version", version))
        .AppendLine(Row("/bin/true (baseline)", trueTimes))
        .AppendLine(Row("ssh -V (baseline)", sshVersion))
        .AppendLine().AppendLine($"dedalus --version / ssh -V (medians): **{Median(version) / Median(sshVersion):F1}x**.").AppendLine();

    // 4. Executions through the API on the running machine, next to the same bare ssh; a section of its own.
    await EnsureRunningAsync();
    using (var http = ExecutionsBench.ApiClient(credentials, timeout))
    {
        report.Append(await new ExecutionsBench(http, machineId, sshTo, timeout).RunAsync(execRuns, execRate));
    }

    Console.Write(report.ToString());
    return 0;
}
finally
{
    Directory.Delete(work, recursive: true);
}

string? Option(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

async Task<ProcessResult> CheckedAsync(string file, string[] arguments)
{
    var result = await ProcessRunner.RunAsync(file, arguments, timeout: timeout, environment: environment);
    return result.ExitCode == 0 ? result : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)}: {result}");
}

async Task<double> TimeAsync(string file, string[] arguments)
{
    var stopwatch = Stopwatch.StartNew();
    var result = await ProcessRunner.RunAsync(file, arguments, timeout: timeout, environment: environment);
    var elapsed = stopwatch.Elapsed.TotalMilliseconds;
    return result.ExitCode == 0 ? elapsed : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)}: {result}");
}

async Task<string> PhaseAsync()
{
    var result = await CheckedAsync(cli, ["machines", "retrieve", "--machine-id", machineId, "--format", "raw"]);
    using var document = JsonDocument.Parse(result.StandardOutput);
    return document.RootElement.GetProperty("phase").GetString() ?? string.Empty;
}

async Task WaitPhaseAsync(string phase)
{
    var stopwatch = Stopwatch.StartNew();
    while (await PhaseAsync() != phase)
    {
        if (stopwatch.Elapsed > timeout)
        {
            throw new TimeoutException($"{machineId} did not reach {phase}");
        }

        await Task.Delay(100);
    }
}

async Task EnsureRunningAsync()
{
    if (await PhaseAsync() != "running")
    {
        await CheckedAsync(cli, ["machines", "wake", "--machine-id", machineId, "--format", "raw"]);
        await WaitPhaseAsync("running");
    }
}
