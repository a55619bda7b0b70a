using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Dedalus.Testing.Cluster;

namespace Dedalus.Server.Tests.Cluster;

public sealed partial class MultiNodeRuncTests
{
    private const int LoadCreates = 500;
    private const int LoadConcurrency = 16;

    /// <summary>After how many answered creates the victim is killed: the load runs before, during and after the kill.</summary>
    private const int KillAfter = 120;

    /// <summary>The creates from this one on are sent once the survivors read the victim's machine as lost.</summary>
    private const int AfterLoss = 370;

    [Fact]
    public async Task A_node_killed_during_500_session_creates_loses_no_acknowledged_session_reads_node_lost_and_comes_back_with_its_files()
    {
        // Equal nodes: three machines, one on each.
        await using var cluster = await StartClusterAsync(
            new NodeSpec("node1", Vcpu: 2, MemoryMib: 4096),
            new NodeSpec("node2", Vcpu: 2, MemoryMib: 4096),
            new NodeSpec("node3", Vcpu: 2, MemoryMib: 4096));
        var machines = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            machines.Add((await CreateMachineAsync(cluster["node1"], """{"vcpu":1,"memory_mib":512,"storage_gib":1,"autosleep":"never"}""")).MachineId);
        }

        foreach (var id in machines)
        {
            await WaitForPhaseAsync(cluster, cluster["node1"], id, MachinePhases.Running);
        }

        var victim = cluster["node3"];
        var survivors = new[] { cluster["node1"], cluster["node2"] };
        var onVictim = await victim.RuncMachinesAsync();
        var lostMachine = Assert.Single(machines, id => onVictim.Contains(id, StringComparer.Ordinal));
        var (publicKey, keyPath) = await ClientKeys.GenerateAsync(_client, "id");

        // A file in the machine's home, written before its node dies.
        var token = Guid.NewGuid().ToString("N");
        var before = await CreateSessionAsync(cluster, survivors[0], lostMachine, publicKey);
        await WriteSessionFilesAsync(keyPath, before);
        var written = await ProcessRunner.RunAsync("ssh", SshArguments(keyPath, before, $"echo {token} > /home/machine/kept.txt && sync"), timeout: TimeSpan.FromSeconds(60));
        Assert.True(written.ExitCode == 0, written + cluster.Logs);

        // 500 creates, 16 at a time, round-robin over the two survivors and over the three machines; node3 is killed
        // once 120 have been answered, and the last 130 wait until node3's machine reads lost (the first 370 would
        // otherwise all be answered before the loss shows, 3 s after the last heartbeat).
        var lostSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var results = new ConcurrentBag<(int Index, string Node, string MachineId, HttpStatusCode? Status, string? SessionId, string Detail)>();
        var answered = 0;
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var gate = new SemaphoreSlim(LoadConcurrency);
        var body = $$"""{"public_key":"{{publicKey}}"}""";
        var load = Enumerable.Range(0, LoadCreates).Select(async i =>
        {
            if (i >= AfterLoss)
            {
                await lostSeen.Task;
            }

            await gate.WaitAsync();
            var node = survivors[i % survivors.Length];
            var machineId = machines[i % machines.Count];
            try
            {
                var (status, text) = await SendAsync(node, HttpMethod.Post, $"/v1/machines/{machineId}/ssh", body);
                var sessionId = (int)status is >= 200 and < 300 ? JsonSerializer.Deserialize(text, DedalusJsonContext.Default.SshSession)!.SessionId : null;
                results.Add((i, node.Name, machineId, status, sessionId, sessionId is null ? text : string.Empty));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                results.Add((i, node.Name, machineId, null, null, e.Message));
            }
            finally
            {
                gate.Release();
                if (Interlocked.Increment(ref answered) == KillAfter)
                {
                    killed.TrySetResult();
                }
            }
        }).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await killed.Task;
        var killedAt = clock.Elapsed;
        await victim.KillAsync();
        try
        {
            await WaitForPhaseAsync(cluster, survivors[0], lostMachine, MachinePhases.Failed, TimeSpan.FromSeconds(60));
        }
        finally
        {
            // Even when the loss never shows: the held creates must not outlive the test.
            lostSeen.TrySetResult();
        }

        var lostAt = clock.Elapsed;
        await Task.WhenAll(load);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"load: {LoadCreates} creates in {clock.Elapsed.TotalSeconds:F1} s; node3 killed (SIGKILL) {killedAt.TotalSeconds:F1} s in, after {KillAfter} answers; " +
            $"its machine read lost through node1 {(lostAt - killedAt).TotalSeconds:F1} s after the kill; creates {AfterLoss}-{LoadCreates - 1} sent after that"));

        var acknowledged = results.Where(r => r.SessionId is not null).ToList();
        var refused = results.Where(r => r.SessionId is null).ToList();
        output.WriteLine($"{acknowledged.Count} of {LoadCreates} creates acknowledged ({acknowledged.Count(r => r.MachineId == lostMachine)} on the killed node's machine); " +
            $"not acknowledged: {string.Join(", ", refused.GroupBy(r => (r.MachineId == lostMachine ? "node3's machine" : "a survivor's machine") + " " + (r.Status is { } s ? ((int)s).ToString(CultureInfo.InvariantCulture) : "no answer")).Select(g => $"{g.Key} x{g.Count()}"))}");
        foreach (var sample in refused.Take(3))
        {
            output.WriteLine($"  e.g. #{sample.Index} through {sample.Node}: {sample.Status} {sample.Detail}");
        }

        // Machines on the surviving nodes never depended on node3; a create for node3's machine that is refused says
        // why, retryable (503 with the DCS envelope), and none goes unanswered.
        Assert.All(results.Where(r => r.MachineId != lostMachine), r => Assert.True(r.SessionId is not null, $"create #{r.Index} through {r.Node} on a surviving node's machine: {r.Status} {r.Detail}"));
        Assert.All(refused, r => Assert.True(
            r.Status == HttpStatusCode.ServiceUnavailable && ErrorCode(r.Detail) == ErrorCodes.DependencyUnavailable,
            $"create #{r.Index} through {r.Node} on node3's machine: {r.Status} {r.Detail}"));

        // node3's machine reads lost through both survivors.
        foreach (var node in survivors)
        {
            var lost = await WaitForPhaseAsync(cluster, node, lostMachine, MachinePhases.Failed, TimeSpan.FromSeconds(60));
            Assert.Equal(("node_lost", true), (lost.Status.Reason, lost.Status.Retryable));
        }

        await AssertEveryAcknowledgedSessionReadsAsync(survivors, acknowledged.Select(r => (r.MachineId, r.SessionId!)).ToList());

        // Back on its data directory: it adopts its machine, which runs again with its home as it was.
        await victim.StartAsync();
        await WaitForPhaseAsync(cluster, survivors[1], lostMachine, MachinePhases.Running, throughFailed: true);
        await AssertEveryAcknowledgedSessionReadsAsync(cluster.Nodes, acknowledged.Select(r => (r.MachineId, r.SessionId!)).ToList());
        var after = await CreateSessionAsync(cluster, survivors[1], lostMachine, publicKey);
        Assert.Equal("node3", cluster.NodeOfGatewayPort((int)after.Connection!.Port).Name);
        await WriteSessionFilesAsync(keyPath, after);
        var read = await ProcessRunner.RunAsync("ssh", SshArguments(keyPath, after, "cat", "/home/machine/kept.txt"), timeout: TimeSpan.FromSeconds(60));
        Assert.True(read.ExitCode == 0, read + cluster.Logs);
        Assert.Equal(token + "\n", read.StandardOutput);
    }

    /// <summary>Reads every session through every one of <paramref name="nodes"/> (16 requests at a time): each is found, with its id.</summary>
    private static async Task AssertEveryAcknowledgedSessionReadsAsync(IReadOnlyList<ClusterNode> nodes, List<(string MachineId, string SessionId)> sessions)
    {
        using var gate = new SemaphoreSlim(LoadConcurrency);
        var missing = new ConcurrentBag<string>();
        await Task.WhenAll(nodes.SelectMany(node => sessions.Select(async session =>
        {
            await gate.WaitAsync();
            try
            {
                var (status, text) = await SendAsync(node, HttpMethod.Get, $"/v1/machines/{session.MachineId}/ssh/{session.SessionId}", null);
                if (status != HttpStatusCode.OK || JsonSerializer.Deserialize(text, DedalusJsonContext.Default.SshSession)!.SessionId != session.SessionId)
                {
                    missing.Add($"{session.SessionId} through {node.Name}: {(int)status} {text}");
                }
            }
            finally
            {
                gate.Release();
            }
        })));
        Assert.True(missing.IsEmpty, $"{missing.Count} acknowledged session reads failed, e.g. {string.Join("; ", missing.Take(3))}");
    }
}
