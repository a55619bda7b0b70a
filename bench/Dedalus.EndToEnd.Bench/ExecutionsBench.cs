using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Dedalus.Contracts;
using Dedalus.Testing;
using static Dedalus.EndToEnd.Bench.Figures;

namespace Dedalus.EndToEnd.Bench;

/// <summary>
/// Executions through the API on a running machine, each figure next to bare ssh to the same machine through the
/// gateway with a certificate made beforehand, interleaved: <c>true</c> from create to <c>succeeded</c> (long poll on
/// the events, and plain polling), executions per second (one client, then <see cref="Clients"/> at once) and output
/// throughput. Talks HTTP with <see cref="HttpClient"/> and the wire records of Contracts, nothing else.
/// </summary>
internal sealed class ExecutionsBench
{
    /// <summary>Clients at once in the concurrent rate (the server runs 16 executions at once per machine).</summary>
    public const int Clients = 8;

    private const int WaitMs = 10_000;
    private const long BigOutputBytes = 64L * 1024 * 1024;
    private const int SmallOutputBytes = 1024 * 1024;
    private const string BigOutput = "head -c 64M /dev/zero";
    private const string SmallOutput = "yes 'The quick brown fox jumps over the lazy dog, 0123456789.' | head -c 1048576";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    private readonly HttpClient _http;
    private readonly string[] _ssh;
    private readonly TimeSpan _timeout;
    private readonly string _executions;
    private int _busy;

    /// <param name="http">A client whose base address is the API and which sends the API key.</param>
    /// <param name="machineId">The running machine.</param>
    /// <param name="ssh">ssh's arguments up to and including the destination; the remote command is added after them.</param>
    /// <param name="timeout">The longest one execution or ssh run may take.</param>
    public ExecutionsBench(HttpClient http, string machineId, string[] ssh, TimeSpan timeout)
    {
        _http = http;
        _ssh = ssh;
        _timeout = timeout;
        _executions = $"v1/machines/{machineId}/executions";
    }

    /// <summary>An API client from a credentials file of the dev server (<c>DEDALUS_BASE_URL</c> and <c>DEDALUS_API_KEY</c> lines).</summary>
    public static HttpClient ApiClient(string credentialsFile, TimeSpan timeout)
    {
        var values = File.ReadAllLines(credentialsFile).Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
        var http = new HttpClient { BaseAddress = new Uri(values["DEDALUS_BASE_URL"].TrimEnd('/') + "/"), Timeout = timeout };
        http.DefaultRequestHeaders.Add("x-api-key", values["DEDALUS_API_KEY"]);
        return http;
    }

    /// <summary>Measures; returns the markdown section.</summary>
    /// <param name="runs">Runs of each latency and throughput figure.</param>
    /// <param name="rate">Executions (and ssh runs) in each per-second figure.</param>
    public async Task<string> RunAsync(int runs, int rate)
    {
        var report = new StringBuilder();
        var sshTrue = Remote("true");
        report.AppendLine("## Executions").AppendLine()
            .AppendLine($"`POST /v1/machines/{{id}}/executions` on the running machine above, by a client on HttpClient (one connection pool, `x-api-key`), vs bare `{sshTrue}` through the same gateway with the certificate made beforehand; interleaved. The server keeps the first 1 MiB of each stream.").AppendLine();

        // 1. true, create to succeeded: long poll on the events, polling every 20 ms, and ssh. Interleaved.
        var longPoll = new List<Timed>();
        var polled = new List<double>();
        var viaSsh = new List<double>();
        await RunAsync(True, poll: false);
        await RunAsync(True, poll: true);
        await SshAsync("true", 0);
        for (var i = 0; i < runs; i++)
        {
            longPoll.Add(await RunAsync(True, poll: false));
            polled.Add((await RunAsync(True, poll: true)).Milliseconds);
            viaSsh.Add(await SshAsync("true", 0));
        }

        // Where the time of a long-poll run goes, from the server's timestamps (milliseconds, the same host clock).
        var toCreated = new List<double>();
        var toStarted = new List<double>();
        var toCompleted = new List<double>();
        var toSeen = new List<double>();
        foreach (var run in longPoll)
        {
            var e = await GetAsync($"{_executions}/{run.ExecutionId}", DedalusJsonContext.Default.Execution);
            toCreated.Add((e.CreatedAt - run.Sent).TotalMilliseconds);
            toStarted.Add((e.StartedAt!.Value - e.CreatedAt).TotalMilliseconds);
            toCompleted.Add((e.CompletedAt!.Value - e.StartedAt.Value).TotalMilliseconds);
            toSeen.Add((run.Seen - e.CompletedAt.Value).TotalMilliseconds);
        }

        var longPollMs = longPoll.Select(r => r.Milliseconds).ToList();
        report.AppendLine("### `true`, create to `succeeded` (running machine)").AppendLine()
            .AppendLine($"An execution of `[\"true\"]`: POST, then either `GET .../events?wait_ms={WaitMs}` until the final `lifecycle` event (long poll) or `GET .../executions/{{eid}}` every {PollInterval.TotalMilliseconds:F0} ms until a final status; vs `{sshTrue}`. {runs} runs each, interleaved.").AppendLine()
            .AppendLine("| client | median ms | p90 ms | min ms |").AppendLine("|---|---:|---:|---:|")
            .AppendLine(Row("execution, events long poll", longPollMs))
            .AppendLine(Row($"execution, GET every {PollInterval.TotalMilliseconds:F0} ms", polled))
            .AppendLine(Row("ssh (pre-made certificate) -- true (baseline)", viaSsh))
            .AppendLine()
            .AppendLine($"Ratio execution / bare ssh (medians): **{Median(longPollMs) / Median(viaSsh):F2}x** with the long poll (goal at most 0.5), **{Median(polled) / Median(viaSsh):F2}x** polling every {PollInterval.TotalMilliseconds:F0} ms.").AppendLine()
            .AppendLine($"Where a long-poll run's time goes (medians; server timestamps, whole milliseconds): POST answered after {Median(longPoll.Select(r => r.PostMilliseconds).ToList()):F1} ms; request sent to `created_at` {Median(toCreated):F0} ms; `created_at` to `started_at` {Median(toStarted):F0} ms (runc exec of the command, held stopped, moved into its cgroup, continued); `started_at` to `completed_at` {Median(toCompleted):F0} ms (the command runs and exits, its pipes drain, the exit status is read); `completed_at` to the final event at the client {Median(toSeen):F0} ms.").AppendLine();

        // 2. Executions per second: one client, then Clients at once, each execution to succeeded; ssh true alike. Rounds interleaved.
        // Rounds of at least twice Clients runs, so the concurrent figure has every client busy for most of a round.
        var rounds = Math.Clamp(rate / (2 * Clients), 1, 4);
        var (sequential, sshSequential, concurrent, sshConcurrent) = (0.0, 0.0, 0.0, 0.0);
        for (var r = 0; r < rounds; r++)
        {
            var count = (rate / rounds) + (r < rate % rounds ? 1 : 0);
            sequential += await RateAsync(count, 1, () => RunAsync(True, poll: false));
            sshSequential += await RateAsync(count, 1, () => SshAsync("true", 0));
            concurrent += await RateAsync(count, Clients, () => RunAsync(True, poll: false));
            sshConcurrent += await RateAsync(count, Clients, () => SshAsync("true", 0));
        }

        report.AppendLine("### Executions per second (one machine)").AppendLine()
            .AppendLine($"{rate} executions of `[\"true\"]`, each to `succeeded` (long poll), by one client in sequence, then by {Clients} clients at once; vs as many `{sshTrue}`. {rounds} rounds, interleaved.").AppendLine()
            .AppendLine("| workload | runs | seconds | per second |").AppendLine("|---|---:|---:|---:|")
            .AppendLine(RateRow("execution, 1 client", rate, sequential))
            .AppendLine(RateRow("ssh -- true, 1 client (baseline)", rate, sshSequential))
            .AppendLine(RateRow($"execution, {Clients} clients", rate, concurrent))
            .AppendLine(RateRow($"ssh -- true, {Clients} clients (baseline)", rate, sshConcurrent))
            .AppendLine()
            .AppendLine($"Executions per second: **{rate / sequential:F1}/s** with one client ({sshSequential / sequential:F2}x ssh's rate), **{rate / concurrent:F1}/s** with {Clients} ({sshConcurrent / concurrent:F2}x ssh's rate). 429 answers: {(_busy == 0 ? "none" : $"**{_busy}** (unexpected below the server's 16 at once per machine)")}.").AppendLine();

        // 3. Output: 64 MiB (create to succeeded, the count checked) and 1 MiB (all kept, read back) vs ssh of the same bytes.
        var bigRequest = new CreateExecutionRequest([.. BigOutput.Split(' ')]);
        var smallRequest = new CreateExecutionRequest(["sh", "-c", SmallOutput]);
        var big = new List<double>();
        var sshBig = new List<double>();
        var small = new List<double>();
        var sshSmall = new List<double>();
        await BigAsync(bigRequest);
        await SmallAsync(smallRequest);
        for (var i = 0; i < runs; i++)
        {
            big.Add(await BigAsync(bigRequest));
            sshBig.Add(await SshAsync(BigOutput, BigOutputBytes));
            small.Add(await SmallAsync(smallRequest));
            sshSmall.Add(await SshAsync(SmallOutput, SmallOutputBytes));
        }

        report.AppendLine("### Output throughput").AppendLine()
            .AppendLine($"An execution of `{BigOutput}`, create to `succeeded` (long poll, every event paged; `stdout_bytes` checked = {BigOutputBytes} afterwards), vs `{Remote(BigOutput)}` with the client reading and discarding the output. Then 1 MiB of text (`sh -c \"{SmallOutput}\"`, all kept): the execution to `succeeded`, then `GET .../output` (its length checked), vs ssh of the same command line with the client reading the bytes. {runs} runs each, interleaved.").AppendLine()
            .AppendLine("| workload | median ms | p90 ms | min ms | MiB/s (median) |").AppendLine("|---|---:|---:|---:|---:|")
            .AppendLine(ThroughputRow("execution, 64 MiB to succeeded", big, 64))
            .AppendLine(ThroughputRow("ssh, 64 MiB discarded (baseline)", sshBig, 64))
            .AppendLine(ThroughputRow("execution, 1 MiB to succeeded + GET output", small, 1))
            .AppendLine(ThroughputRow("ssh, 1 MiB read (baseline)", sshSmall, 1))
            .AppendLine()
            .AppendLine($"Ratio execution / ssh (MiB/s, medians): **{Median(sshBig) / Median(big):F2}x** for 64 MiB, **{Median(sshSmall) / Median(small):F2}x** for 1 MiB.").AppendLine();
        return report.ToString();
    }

    private static CreateExecutionRequest True { get; } = new(["true"]);

    private static string Remote(string command) => $"ssh ... -- {command}";

    private static string RateRow(string name, int runs, double seconds) => $"| {name} | {runs} | {seconds:F2} | {runs / seconds:F1} |";

    private static string ThroughputRow(string name, List<double> milliseconds, double mib) => $"{Row(name, milliseconds)} {mib * 1000 / Median(milliseconds):F1} |";

    /// <summary>Creates an execution and waits for its end; it must succeed.</summary>
    private async Task<Timed> RunAsync(CreateExecutionRequest request, bool poll)
    {
        var sent = DateTimeOffset.UtcNow;
        var stopwatch = Stopwatch.StartNew();
        var created = await CreateAsync(request);
        var post = stopwatch.Elapsed.TotalMilliseconds;
        var status = poll ? await PollAsync(created) : await FinalStatusAsync(created.ExecutionId);
        var elapsed = stopwatch.Elapsed.TotalMilliseconds;
        var seen = DateTimeOffset.UtcNow;
        if (status != ExecutionStatuses.Succeeded)
        {
            var e = await GetAsync($"{_executions}/{created.ExecutionId}", DedalusJsonContext.Default.Execution);
            throw new InvalidOperationException($"execution {e.ExecutionId} of {string.Join(' ', request.Command!)}: {e.Status} ({e.ErrorCode}: {e.ErrorMessage})");
        }

        return new Timed(created.ExecutionId, elapsed, post, sent, seen);
    }

    private async Task<double> BigAsync(CreateExecutionRequest request)
    {
        var run = await RunAsync(request, poll: false);
        var e = await GetAsync($"{_executions}/{run.ExecutionId}", DedalusJsonContext.Default.Execution);
        return e.StdoutBytes == BigOutputBytes
            ? run.Milliseconds
            : throw new InvalidOperationException($"execution {e.ExecutionId}: stdout_bytes {e.StdoutBytes}, expected {BigOutputBytes}");
    }

    private async Task<double> SmallAsync(CreateExecutionRequest request)
    {
        var stopwatch = Stopwatch.StartNew();
        var run = await RunAsync(request, poll: false);
        var output = await GetAsync($"{_executions}/{run.ExecutionId}/output", DedalusJsonContext.Default.ExecutionOutput);
        var elapsed = stopwatch.Elapsed.TotalMilliseconds;
        return output.Stdout?.Length == SmallOutputBytes && output.StdoutBytes == SmallOutputBytes && output.StdoutTruncated != true
            ? elapsed
            : throw new InvalidOperationException($"execution {run.ExecutionId}: {output.Stdout?.Length} characters of stdout kept of {output.StdoutBytes}, expected {SmallOutputBytes}");
    }

    /// <summary>POST; a 429 (the machine runs its most at once) is counted and retried after its Retry-After.</summary>
    private async Task<Execution> CreateAsync(CreateExecutionRequest request)
    {
        while (true)
        {
            using var response = await _http.PostAsJsonAsync(_executions, request, DedalusJsonContext.Default.CreateExecutionRequest);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Interlocked.Increment(ref _busy);
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromMilliseconds(100));
                continue;
            }

            return await ReadAsync(response, DedalusJsonContext.Default.Execution);
        }
    }

    /// <summary>Pages the events with a long poll until the final <c>lifecycle</c> event (the last one); its status.</summary>
    private async Task<string> FinalStatusAsync(string executionId)
    {
        string? cursor = null;
        while (true)
        {
            var page = await GetAsync(
                $"{_executions}/{executionId}/events?wait_ms={WaitMs}{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}",
                DedalusJsonContext.Default.ExecutionEventList);
            if (page.Items.FirstOrDefault(e => e.Type == ExecutionEventTypes.Lifecycle && e.Status is { } s && ExecutionStatuses.IsFinished(s)) is { } final)
            {
                return final.Status!;
            }

            cursor = page.NextCursor ?? throw new InvalidOperationException($"execution {executionId}: the events ended without a final lifecycle event");
        }
    }

    /// <summary>GET the execution every <see cref="PollInterval"/> until its status is final.</summary>
    private async Task<string> PollAsync(Execution execution)
    {
        while (!ExecutionStatuses.IsFinished(execution.Status))
        {
            await Task.Delay(PollInterval);
            execution = await GetAsync($"{_executions}/{execution.ExecutionId}", DedalusJsonContext.Default.Execution);
        }

        return execution.Status;
    }

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type)
    {
        using var response = await _http.GetAsync(path);
        return await ReadAsync(response, type);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type) =>
        response.IsSuccessStatusCode
            ? await response.Content.ReadFromJsonAsync(type) ?? throw new InvalidOperationException($"{response.RequestMessage?.RequestUri}: empty body")
            : throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");

    /// <summary><paramref name="count"/> runs of <paramref name="one"/> by <paramref name="clients"/> clients at once; the seconds they took.</summary>
    private static async Task<double> RateAsync(int count, int clients, Func<Task> one)
    {
        var left = count;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (Interlocked.Decrement(ref left) >= 0)
            {
                await one();
            }
        }));
        return stopwatch.Elapsed.TotalSeconds;
    }

    /// <summary>ssh to the machine running <paramref name="command"/>; the client reads and counts its stdout (<paramref name="expectedBytes"/>).</summary>
    private async Task<double> SshAsync(string command, long expectedBytes)
    {
        var stopwatch = Stopwatch.StartNew();
        await using var process = TestProcess.Start("ssh", [.. _ssh, command]);
        process.StandardInput.Close();
        using var cancellation = new CancellationTokenSource(_timeout);
        var errors = process.StandardError.ReadToEndAsync(cancellation.Token);
        var buffer = new byte[64 * 1024];
        var bytes = 0L;
        int read;
        while ((read = await process.StandardOutput.BaseStream.ReadAsync(buffer, cancellation.Token)) > 0)
        {
            bytes += read;
        }

        var exitCode = await process.Exited.WaitAsync(cancellation.Token);
        var elapsed = stopwatch.Elapsed.TotalMilliseconds;
        if (exitCode != 0 || bytes != expectedBytes)
        {
            throw new InvalidOperationException($"{process.CommandLine}: exit {exitCode}, {bytes} bytes of stdout (expected {expectedBytes}): {await errors}");
        }

        return elapsed;
    }

    /// <summary>One execution run: its id, the time from POST to its final status seen, the POST's own time, and the wall clock at both ends.</summary>
    private readonly record struct Timed(string ExecutionId, double Milliseconds, double PostMilliseconds, DateTimeOffset Sent, DateTimeOffset Seen);
}
