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

    // A pre-made certificate: one session for our own key, then plain ssh with the same options `dedalus ssh` uses: the
    // host-checking ones and the ones it adds (src/Dedalus.Cli/Commands/SshTuning.cs), so only the API work differs.
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
        "-p", connection.Port.ToString(CultureInfo.InvariantCulture),
        "-o", "HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com", "-o", "ControlMaster=no", "-o", "ControlPath=none",
        "-o", "IdentityAgent=none", "-o", "UpdateHostKeys=no", "-o", "GSSAPIAuthentication=no", "-o", "CanonicalizeHostname=no",
        "-o", "CheckHostIP=no",
        "--", $"{connection.SshUsername}@{connection.Endpoint}",
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
    using var pollHttp = ExecutionsBench.ApiClient(credentials, timeout);
    var timingLine = timing.StandardError.Split('\n').FirstOrDefault(l => l.StartsWith("timing:", StringComparison.Ordinal))?.Trim();

    report.AppendLine("### API to prompt (running machine)").AppendLine()
        .AppendLine($"`dedalus ssh {machineId} -- true` (new key, API session, certificate, temporary files, ssh through the gateway; the session's close is handed to a detached child) vs bare `ssh ... true` through the same gateway with a certificate made beforehand and the same ssh options (strict checking against the host CA, and the ones `dedalus ssh` adds: cert-only host key algorithm, no ControlMaster, no agent, no UpdateHostKeys, no GSSAPI); {runs} runs each, interleaved. Goal: at most 1.10x.").AppendLine()
        .AppendLine("| command | median ms | p90 ms | min ms |").AppendLine("|---|---:|---:|---:|")
        .AppendLine(Row("dedalus ssh ID -- true", viaCli))
        .AppendLine(Row("ssh (pre-made certificate) -- true (baseline)", viaSsh))
        .AppendLine().AppendLine($"Ratio dedalus ssh / bare ssh (medians): **{Median(viaCli) / Median(viaSsh):F2}x**, API overhead **{Median(viaCli) - Median(viaSsh):F0} ms**.").AppendLine();
    if (timingLine is not null)
    {
        report.AppendLine($"One run with `dedalus ssh --timing` (ssh's phases from its `-v` lines): `{timingLine}`.").AppendLine();
    }

    // 2. Sleeping machine: dedalus ssh and a client that polls as the official CLIs do, each on a machine put to sleep
    // just before, interleaved; then the polling client on the running machine (dedalus ssh's running figure is above).
    var polling = new PollingSshClient(pollHttp, machineId, work, timeout);
    var wakes = new List<double>();
    var pollWakes = new List<double>();
    var pollWakePolls = new List<double>();
    var pollRunning = new List<double>();
    for (var i = 0; i < sleeps; i++)
    {
        await SleepAsync();
        wakes.Add(await TimeAsync(cli, dedalusSsh));
        await SleepAsync();
        var (ms, polls) = await polling.RunAsync(i);
        pollWakes.Add(ms);
        pollWakePolls.Add(polls);
    }

    await EnsureRunningAsync();
    await polling.RunAsync(-1);
    for (var i = 0; i < runs; i++)
    {
        pollRunning.Add((await polling.RunAsync(1000 + i)).Ms);
    }

    var ourExtra = Median(wakes) - Median(viaCli);
    var pollExtra = Median(pollWakes) - Median(pollRunning);
    report.AppendLine("### Extra time for a sleeping machine").AppendLine()
        .AppendLine($"Each client runs `ssh ... -- true` on a machine put to sleep just before (the session answers `wake_in_progress`, the machine starts: overlay root, home mount, runc run), {sleeps} runs each, interleaved, and on the running machine. `dedalus ssh` also follows the machine's status stream while it waits; the polling client does what the official CLIs do: POST the session, then sleep `retry_after_ms` (500 ms when absent) and GET it while it is `wake_in_progress` or `ssh_in_progress`, then write the files and run ssh (new key by ssh-keygen each run; no close).").AppendLine()
        .AppendLine("| client | machine | median ms | p90 ms | min ms |").AppendLine("|---|---|---:|---:|---:|")
        .AppendLine(Row2("dedalus ssh", "sleeping (wake + login)", wakes))
        .AppendLine(Row2("dedalus ssh", "running (baseline)", viaCli))
        .AppendLine(Row2("polling client", "sleeping (wake + login)", pollWakes))
        .AppendLine(Row2("polling client", "running (baseline)", pollRunning))
        .AppendLine()
        .AppendLine(string.Create(CultureInfo.InvariantCulture, $"Wake extra (sleeping minus running, medians): dedalus ssh **{ourExtra:F0} ms**, polling client **{pollExtra:F0} ms** (GETs while waking, median {Median(pollWakePolls):F0}); the polling client's extra minus ours: **{pollExtra - ourExtra:F0} ms** (goal: within 150 ms)."))
        .AppendLine();

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

async Task SleepAsync()
{
    await EnsureRunningAsync();
    await CheckedAsync(cli, ["machines", "sleep", "--machine-id", machineId, "--format", "raw"]);
    await WaitPhaseAsync("sleeping");
}

static string Row2(string client, string machine, IReadOnlyList<double> values) =>
    Row(client, values).Replace($"| {client} |", $"| {client} | {machine} |", StringComparison.Ordinal);

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
