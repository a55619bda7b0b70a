using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Dedalus.Testing.Cluster;
using Dedalus.Testing.Postgres;
using Xunit.Abstractions;

namespace Dedalus.Cli.Tests;

/// <summary>
/// The client scenario the single server passes (create, wait until running, list, an SSH session with the real
/// <c>ssh</c>, delete), with <c>dedalus</c> pointed at each node of a three-node cluster in turn (real PostgreSQL, real
/// runc machines): each time the machine runs on another node than the one asked.
/// </summary>
public sealed class MultiNodeCliTests(ITestOutputHelper output)
{
    private static readonly TimeSpan MachineTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Create_wait_list_ssh_and_delete_work_through_each_node_of_three_with_the_machine_on_another_node()
    {
        await using var postgres = await PostgresServer.StartAsync();
        var database = PostgresServer.DatabaseOf(await postgres.CreateDatabaseAsync());

        // node3 has the most room: an empty cluster places on it; with one machine there, the next goes to node1 or node2.
        await using var cluster = await ServerCluster.StartAsync(
            postgres.ConnectionUrl(database),
            [new NodeSpec("node1", Vcpu: 2, MemoryMib: 8192), new NodeSpec("node2", Vcpu: 2, MemoryMib: 8192), new NodeSpec("node3", Vcpu: 4, MemoryMib: 8192)]);

        await RunScenarioAsync(cluster, cluster["node1"]);
        await RunScenarioAsync(cluster, cluster["node2"]);
        using (var filler = await cluster["node1"].Http.PostAsync(
            new Uri("/v1/machines", UriKind.Relative),
            new StringContent("""{"vcpu":1,"memory_mib":512,"storage_gib":1,"autosleep":"never"}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.True(filler.IsSuccessStatusCode, await filler.Content.ReadAsStringAsync());
        }

        await RunScenarioAsync(cluster, cluster["node3"]);
    }

    private async Task RunScenarioAsync(ServerCluster cluster, ClusterNode entry)
    {
        using var cli = new CliProgram();
        cli.Environment["DEDALUS_BASE_URL"] = entry.BaseUrl.ToString();
        cli.Environment["DEDALUS_API_KEY"] = cluster.ApiKey;

        var created = await cli.RunAsync("machines", "create", "--vcpu", "1", "--memory-mib", "512", "--storage-gib", "1", "--autosleep", "never", "--transform", "machine_id", "-r");
        Assert.True(created.ExitCode == 0, created.ToString());
        var id = created.StandardOutput.Trim();

        var watched = await cli.RunAsync(MachineTimeout, "machines", "watch", id, "--format", "raw");
        var phase = await cli.RunAsync("machines", "retrieve", id, "--transform", "phase", "-r");
        var listed = await cli.RunAsync("machines", "list", "--transform", "machine_id", "-r");
        var host = await cluster.HostOfAsync(id);
        var ssh = await cli.RunAsync(TimeSpan.FromMinutes(2), "ssh", id, "--", "echo", "hi", "from", "$(id -un)");
        var deleted = await cli.RunAsync("machines", "delete", id, "--transform", "desired_state", "-r");

        output.WriteLine($"through {entry.Name}: machine {id} ran on {host?.Name}");
        Assert.True(watched.ExitCode == 0, watched + cluster.Logs);
        Assert.Equal("running\n", phase.StandardOutput);
        Assert.Equal(1, listed.StandardOutput.Split('\n').Count(line => line == id));
        Assert.NotNull(host);
        Assert.NotEqual(entry.Name, host.Name);
        Assert.True(ssh.ExitCode == 0, ssh + cluster.Logs);
        Assert.Equal("hi from machine\n", ssh.StandardOutput);
        Assert.Equal("destroyed\n", deleted.StandardOutput);
        Assert.Empty(cli.Leftovers());

        // Gone before the next round, so that the next placement sees the cluster as the comment in the test says.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var read = await entry.Http.GetAsync(new Uri("/v1/machines/" + id, UriKind.Relative));
            if (read.StatusCode == HttpStatusCode.NotFound
                || JsonSerializer.Deserialize(await read.Content.ReadAsStringAsync(), DedalusJsonContext.Default.Machine)!.Phase == MachinePhases.Destroyed)
            {
                break;
            }

            Assert.True(deadline.Elapsed < MachineTimeout, $"machine {id} was not destroyed\n{cluster.Logs}");
            await Task.Delay(200);
        }
    }
}
