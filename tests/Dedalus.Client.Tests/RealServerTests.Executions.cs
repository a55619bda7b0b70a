using System.Text;

namespace Dedalus.Client.Tests;

/// <summary>The executions resource against the real control plane and a real runc machine.</summary>
public sealed partial class RealServerTests
{
    private static readonly TimeSpan ExecutionLimit = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Run_returns_stdout_and_stderr_apart_and_the_exit_code_and_reports_each_chunk_as_it_comes()
    {
        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(ExecutionLimit);
        var streamed = new Dictionary<string, StringBuilder> { [ExecutionEventTypes.Stdout] = new(), [ExecutionEventTypes.Stderr] = new() };
        var states = new List<string>();

        var result = await client.Machines.Executions.RunAsync(
            server.MachineId,
            new CreateExecutionRequest(["sh", "-c", "echo out; echo err >&2; exit 3"]),
            (item, _) =>
            {
                if (item.Chunk is { } chunk)
                {
                    streamed[item.Type].Append(chunk);
                }

                return ValueTask.CompletedTask;
            },
            new Collect<Execution>(e => states.Add(e.Status)),
            cts.Token);

        Assert.Equal(ExecutionStatuses.Failed, result.Status);
        Assert.Equal(ExecutionErrorCodes.NonzeroExit, result.ErrorCode);
        Assert.Equal(3, result.ExitCode);
        Assert.Null(result.Signal);
        Assert.Equal("out\n", result.Stdout);
        Assert.Equal("err\n", result.Stderr);
        Assert.Equal(("out\n", "err\n"), (streamed[ExecutionEventTypes.Stdout].ToString(), streamed[ExecutionEventTypes.Stderr].ToString()));
        Assert.Equal((4L, 4L), (result.Output.StdoutBytes, result.Output.StderrBytes));
        Assert.Equal(ExecutionStatuses.Failed, states[^1]);
    }

    [Fact]
    public async Task An_argv_with_spaces_quotes_and_newlines_reaches_the_process_intact()
    {
        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(ExecutionLimit);
        string[] arguments = ["a b", "'single'", "\"double\"", "two\nlines", "", "$HOME", "*", "back\\slash", "tab\there", "\u00e9t\u00e9 \u2713"];

        var result = await client.Machines.Executions.RunAsync(
            server.MachineId, new CreateExecutionRequest(["printf", "[%s]\\n", .. arguments]), cancellationToken: cts.Token);

        Assert.True(result.Succeeded, result.Stderr);
        Assert.Equal(string.Concat(arguments.Select(a => "[" + a + "]\n")), result.Stdout);
    }

    [Fact]
    public async Task Stdin_cwd_and_env_are_honoured_and_the_environment_is_otherwise_clean()
    {
        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(ExecutionLimit);
        var request = new CreateExecutionRequest(
            ["sh", "-c", "cat; pwd; id -un; echo \"[$GREETING]\"; echo \"[${DEDALUS_API_KEY:-unset}]\""],
            "/tmp",
            new Dictionary<string, string?> { ["GREETING"] = "hello there" },
            "first line\nsecond line\n");

        var result = await client.Machines.Executions.RunAsync(server.MachineId, request, cancellationToken: cts.Token);

        Assert.True(result.Succeeded, result.Stderr);
        Assert.Equal("first line\nsecond line\n/tmp\nmachine\n[hello there]\n[unset]\n", result.Stdout);
        Assert.Equal(["GREETING"], result.Execution.EnvKeys);
        Assert.Equal("/tmp", result.Execution.Cwd);
    }

    [Fact]
    public async Task Following_a_command_that_prints_with_pauses_yields_every_event_once_in_order()
    {
        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(ExecutionLimit);
        var created = await client.Machines.Executions.CreateAsync(
            server.MachineId,
            new CreateExecutionRequest(["sh", "-c", "i=1; while [ $i -le 30 ]; do echo line $i; [ $((i % 3)) -eq 0 ] && echo tick $i >&2; sleep 0.05; i=$((i + 1)); done"]),
            cts.Token);

        var events = new List<ExecutionEvent>();
        await foreach (var item in client.Machines.Executions.FollowEventsAsync(created.MachineId, created.ExecutionId, cancellationToken: cts.Token))
        {
            events.Add(item);
        }

        // Sequences from 1 without gaps or repeats; the last event is the final status.
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal(ExecutionEventTypes.Lifecycle, events[^1].Type);
        Assert.Equal(ExecutionStatuses.Succeeded, events[^1].Status);
        Assert.Equal(string.Concat(Enumerable.Range(1, 30).Select(i => $"line {i}\n")), Text(events, ExecutionEventTypes.Stdout));
        Assert.Equal(string.Concat(Enumerable.Range(1, 10).Select(i => $"tick {i * 3}\n")), Text(events, ExecutionEventTypes.Stderr));

        // A second follower that starts after a given event sees exactly the rest.
        var middle = events[events.Count / 2].Sequence;
        var rest = new List<long>();
        await foreach (var item in client.Machines.Executions.FollowEventsAsync(created.MachineId, created.ExecutionId, after: middle, cancellationToken: cts.Token))
        {
            rest.Add(item.Sequence);
        }

        Assert.Equal(events.Where(e => e.Sequence > middle).Select(e => e.Sequence), rest);

        // The log-read service, with a read token and nothing else, gives the same events.
        var token = await client.Machines.Executions.CreateLogTokenAsync(created.MachineId, created.ExecutionId, cts.Token);
        var logged = new List<ExecutionEvent>();
        await foreach (var item in client.Machines.Executions.ReadLogStreamAsync(token, cancellationToken: cts.Token))
        {
            logged.Add(item);
        }

        Assert.Equal(events, logged);
    }

    [Fact]
    public async Task Cancelling_a_run_cancels_the_execution_on_the_server()
    {
        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(ExecutionLimit);
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        Execution? started = null;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.Machines.Executions.RunAsync(
            server.MachineId,
            new CreateExecutionRequest(["sh", "-c", "echo started; sleep 600"]),
            async (item, _) =>
            {
                if (item.Chunk == "started\n")
                {
                    await giveUp.CancelAsync();
                }
            },
            new Collect<Execution>(e => started ??= e),
            giveUp.Token));

        Assert.NotNull(started);
        var after = await client.Machines.Executions.GetAsync(started.MachineId, started.ExecutionId, cts.Token);
        Assert.Equal(ExecutionStatuses.Cancelled, after.Status);
        var listed = new List<string>();
        await foreach (var execution in client.Machines.Executions.ListAsync(server.MachineId, limit: 1, cts.Token))
        {
            listed.Add(execution.ExecutionId);
        }

        Assert.Contains(started.ExecutionId, listed);
        Assert.Equal(listed.Count, listed.Distinct().Count());
    }

    [Fact]
    public async Task An_execution_on_a_sleeping_machine_wakes_it_and_runs()
    {
        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(ExecutionLimit);
        await client.Machines.SleepAsync(server.MachineId, cts.Token);
        await client.WaitForPhaseAsync(server.MachineId, MachinePhases.Sleeping, cts.Token);
        var states = new List<string>();

        var result = await client.Machines.Executions.RunAsync(
            server.MachineId, new CreateExecutionRequest(["echo", "awake"]), progress: new Collect<Execution>(e => states.Add(e.Status)), cancellationToken: cts.Token);

        Assert.Equal([ExecutionStatuses.WakeInProgress, ExecutionStatuses.Succeeded], states);
        Assert.Equal("awake\n", result.Stdout);
        Assert.Equal(MachinePhases.Running, (await client.Machines.RetrieveAsync(server.MachineId, cts.Token)).Status.Phase);
    }

    private static string Text(IEnumerable<ExecutionEvent> events, string type) =>
        string.Concat(events.Where(e => e.Type == type).Select(e => e.Chunk));

    private sealed class Collect<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
