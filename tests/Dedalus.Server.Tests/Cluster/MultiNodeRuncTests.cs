using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Dedalus.Testing.Sshd;
using Dedalus.Testing.Cluster;
using Dedalus.Testing.Postgres;
using Xunit.Abstractions;

namespace Dedalus.Server.Tests.Cluster;

/// <summary>
/// Several nodes on this host sharing one real PostgreSQL database and one CA directory, each a real
/// <c>dedalus-server</c> process with its own runc machines and gateway (<see cref="ServerCluster"/>); logins with the
/// real <c>ssh</c> client and strict host checking against the host CA the session hands out. Where a machine runs is
/// read from each node's runc (its container list), not from the server.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed partial class MultiNodeRuncTests(PostgresFixture postgres, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan MachineTimeout = TimeSpan.FromMinutes(10);
    private readonly TempDirectory _client = new("dedalus-multinode-client-");

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task Machines_created_through_one_node_go_where_there_is_room_and_every_node_lists_and_pages_each_once()
    {
        // Shares of free vCPU decide (memory is ample everywhere): node1 takes the first and fourth machine, node2 and
        // node3 one each, node4 (smaller than one machine) none.
        await using var cluster = await StartClusterAsync(
            new NodeSpec("node1", Vcpu: 4, MemoryMib: 8192),
            new NodeSpec("node2", Vcpu: 2, MemoryMib: 8192),
            new NodeSpec("node3", Vcpu: 2, MemoryMib: 8192),
            new NodeSpec("node4", Vcpu: 0.5, MemoryMib: 8192));
        var entry = cluster["node1"];

        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await CreateMachineAsync(entry, """{"vcpu":1,"memory_mib":512,"storage_gib":1,"autosleep":"never"}""")).MachineId);
        }

        var tooBig = await SendAsync(entry, HttpMethod.Post, "/v1/machines", """{"vcpu":3,"memory_mib":512,"storage_gib":1,"autosleep":"never"}""");
        foreach (var id in ids)
        {
            await WaitForPhaseAsync(cluster, cluster.Nodes[ids.IndexOf(id) % 4], id, MachinePhases.Running);
        }

        var hosts = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var node in cluster.Nodes)
        {
            hosts[node.Name] = [.. (await node.RuncMachinesAsync()).Intersect(ids, StringComparer.Ordinal)];
        }

        Assert.Equal(HttpStatusCode.Conflict, tooBig.Status);
        Assert.Equal(ErrorCodes.InsufficientCapacity, ErrorCode(tooBig.Body));
        Assert.Equal(new[] { ids[0], ids[3] }.Order(StringComparer.Ordinal), hosts["node1"].Order(StringComparer.Ordinal));
        Assert.Single(hosts["node2"]);
        Assert.Single(hosts["node3"]);
        Assert.Empty(hosts["node4"]);
        Assert.Equal(ids.Order(StringComparer.Ordinal), hosts.Values.SelectMany(h => h).Order(StringComparer.Ordinal));

        foreach (var node in cluster.Nodes)
        {
            var listed = JsonSerializer.Deserialize((await SendAsync(node, HttpMethod.Get, "/v1/machines", null)).Body, DedalusJsonContext.Default.MachineList)!;
            var paged = new List<string>();
            string? cursor = null;
            var pages = 0;
            do
            {
                var page = JsonSerializer.Deserialize(
                    (await SendAsync(node, HttpMethod.Get, "/v1/machines?limit=1" + (cursor is null ? string.Empty : "&cursor=" + WebUtility.UrlEncode(cursor)), null)).Body,
                    DedalusJsonContext.Default.MachineList)!;
                Assert.True(page.Items.Count <= 1, $"{node.Name}: a page of limit 1 held {page.Items.Count}");
                paged.AddRange(page.Items.Select(m => m.MachineId));
                cursor = page.NextCursor;
                Assert.True(++pages <= ids.Count + 1, $"{node.Name}: paging did not end");
            }
            while (cursor is not null);

            Assert.Equal(ids, listed.Items.Select(m => m.MachineId));
            Assert.Equal(ids, paged);
        }
    }

    [Fact]
    public async Task A_session_made_through_node2_for_a_machine_on_node3_logs_in_at_node3s_gateway_and_deleting_it_through_node1_cuts_the_login()
    {
        // node3 has the most room: the machine created through node1 goes there.
        await using var cluster = await StartClusterAsync(
            new NodeSpec("node1", Vcpu: 1, MemoryMib: 4096),
            new NodeSpec("node2", Vcpu: 1, MemoryMib: 4096),
            new NodeSpec("node3", Vcpu: 4, MemoryMib: 4096));
        var machine = await CreateMachineAsync(cluster["node1"], """{"vcpu":1,"memory_mib":512,"storage_gib":1,"autosleep":"never"}""");
        await WaitForPhaseAsync(cluster, cluster["node2"], machine.MachineId, MachinePhases.Running);
        Assert.Equal("node3", (await cluster.HostOfAsync(machine.MachineId))?.Name);

        var (publicKey, keyPath) = await ClientKeys.GenerateAsync(_client, "id");
        var session = await CreateSessionAsync(cluster, cluster["node2"], machine.MachineId, publicKey);
        Assert.Equal("127.0.0.1", session.Connection!.Endpoint);
        Assert.Equal("node3", cluster.NodeOfGatewayPort((int)session.Connection.Port).Name);
        await WriteSessionFilesAsync(keyPath, session);

        var hello = await ProcessRunner.RunAsync("ssh", SshArguments(keyPath, session, "echo", "hello-from", "$(id -un)"), timeout: TimeSpan.FromSeconds(60));
        Assert.True(hello.ExitCode == 0, hello + cluster.Logs);
        Assert.Equal("hello-from machine\n", hello.StandardOutput);

        // A login that would run far longer than the test: it ends only if the gateway of node3 cuts it.
        await using var login = TestProcess.Start("ssh", SshArguments(keyPath, session, "echo started; sleep 1200"), drainOutput: true);
        Assert.True(await login.Output.WaitForAsync("started", timeout: TimeSpan.FromSeconds(60)), "the long login never started: " + login.Errors.Text);

        var requested = Stopwatch.StartNew();
        var endedAfter = login.Exited.ContinueWith(_ => requested.Elapsed, TaskScheduler.Default);
        var closed = await SendAsync(cluster["node1"], HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}", null);
        var answeredAfter = requested.Elapsed;
        var cut = await Task.WhenAny(endedAfter, Task.Delay(TimeSpan.FromSeconds(10))) == endedAfter;
        var cutAfter = cut ? await endedAfter : requested.Elapsed;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"DELETE through node1 answered after {answeredAfter.TotalMilliseconds:F0} ms; the ssh login on node3's gateway ended {cutAfter.TotalMilliseconds:F0} ms after the request was sent"));

        Assert.Equal(HttpStatusCode.OK, closed.Status);
        Assert.True(cut, $"the login through node3 was still open 10 s after its session was deleted through node1\n{cluster.Logs}");
        Assert.NotEqual(0, login.ExitCode);
        var refused = await ProcessRunner.RunAsync("ssh", SshArguments(keyPath, session, "true"), timeout: TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, refused.ExitCode);
        foreach (var node in cluster.Nodes)
        {
            var read = JsonSerializer.Deserialize((await SendAsync(node, HttpMethod.Get, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}", null)).Body, DedalusJsonContext.Default.SshSession)!;
            Assert.Equal(SshSessionStatuses.Closed, read.Status);
        }
    }

    private async Task<ServerCluster> StartClusterAsync(params NodeSpec[] nodes)
    {
        var database = PostgresServer.DatabaseOf(await postgres.Server.CreateDatabaseAsync());
        return await ServerCluster.StartAsync(postgres.Server.ConnectionUrl(database), nodes);
    }

    private static async Task<Machine> CreateMachineAsync(ClusterNode node, string json)
    {
        var created = await SendAsync(node, HttpMethod.Post, "/v1/machines", json);
        Assert.True(created.Status == HttpStatusCode.Created || created.Status == HttpStatusCode.OK, $"create through {node.Name}: {(int)created.Status} {created.Body}");
        return JsonSerializer.Deserialize(created.Body, DedalusJsonContext.Default.Machine)!;
    }

    /// <summary>
    /// Polls <paramref name="node"/> until the machine reads <paramref name="phase"/>; a failed machine fails the test at
    /// once, unless failed is awaited or <paramref name="throughFailed"/> (a lost node's machine coming back).
    /// </summary>
    private static async Task<Machine> WaitForPhaseAsync(ServerCluster cluster, ClusterNode node, string machineId, string phase, TimeSpan? timeout = null, bool throughFailed = false)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var read = await SendAsync(node, HttpMethod.Get, $"/v1/machines/{machineId}", null);
            Assert.True(read.Status == HttpStatusCode.OK, $"GET {machineId} through {node.Name}: {(int)read.Status} {read.Body}");
            var machine = JsonSerializer.Deserialize(read.Body, DedalusJsonContext.Default.Machine)!;
            if (machine.Phase == phase)
            {
                return machine;
            }

            Assert.True(throughFailed || phase == MachinePhases.Failed || machine.Phase != MachinePhases.Failed, $"machine {machineId} failed: {machine.Status.Reason} {machine.Status.LastError}\n{cluster.Logs}");
            Assert.True(deadline.Elapsed < (timeout ?? MachineTimeout), $"machine {machineId} is {machine.Phase} ({machine.Status.Reason}) through {node.Name}, not {phase}\n{cluster.Logs}");
            await Task.Delay(100);
        }
    }

    /// <summary>A session through <paramref name="node"/>, followed until ready.</summary>
    private static async Task<SshSession> CreateSessionAsync(ServerCluster cluster, ClusterNode node, string machineId, string publicKey)
    {
        var created = await SendAsync(node, HttpMethod.Post, $"/v1/machines/{machineId}/ssh", $$"""{"public_key":"{{publicKey}}"}""");
        Assert.True(created.Status is HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Accepted, $"session through {node.Name}: {(int)created.Status} {created.Body}");
        var session = JsonSerializer.Deserialize(created.Body, DedalusJsonContext.Default.SshSession)!;
        var deadline = Stopwatch.StartNew();
        while (session.Status != SshSessionStatuses.Ready)
        {
            Assert.True(session.Status == SshSessionStatuses.WakeInProgress, $"session {session.SessionId} is {session.Status}: {session.ErrorCode} {session.ErrorMessage}\n{cluster.Logs}");
            Assert.True(deadline.Elapsed < MachineTimeout, $"session {session.SessionId} never turned ready");
            await Task.Delay((int)Math.Clamp(session.RetryAfterMs ?? 200, 50, 1000));
            session = JsonSerializer.Deserialize((await SendAsync(node, HttpMethod.Get, $"/v1/machines/{machineId}/ssh/{session.SessionId}", null)).Body, DedalusJsonContext.Default.SshSession)!;
        }

        return session;
    }

    private async Task WriteSessionFilesAsync(string keyPath, SshSession session)
    {
        await File.WriteAllTextAsync(keyPath + "-cert.pub", session.Connection!.UserCertificate + "\n");
        await File.WriteAllTextAsync(_client.Combine("known_hosts"), $"@cert-authority {session.Connection.HostTrust!.HostPattern} {session.Connection.HostTrust.PublicKey}\n");
    }

    /// <summary>ssh to the session's gateway with the session's certificate; the host must prove itself with the host CA only.</summary>
    private string[] SshArguments(string keyPath, SshSession session, params string[] command) =>
        CertificateSsh.Arguments(
            keyPath, _client.Combine("known_hosts"), session.Connection!.Port, $"{session.Connection.SshUsername}@{session.Connection.Endpoint}", command);

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(ClusterNode node, HttpMethod method, string path, string? json)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await node.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string? ErrorCode(string body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.TryGetProperty("error_code", out var code) ? code.GetString() : null;
    }
}
