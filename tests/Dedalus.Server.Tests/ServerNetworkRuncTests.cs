using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Dedalus.Testing.Network;

namespace Dedalus.Server.Tests;

/// <summary>
/// Machine networking through the API, on real runc machines: the server on a test network slot whose only upstream
/// (and only route off this host) is the test's "internet" namespace. What a machine reaches is seen from inside it,
/// through executions.
/// </summary>
public sealed class ServerNetworkRuncTests : IAsyncLifetime
{
    private NetworkTestSlot _slot = null!;
    private InternetNamespace _internet = null!;
    private ExecutionServer _server = null!;

    public async Task InitializeAsync()
    {
        _slot = await NetworkTestSlot.AcquireAsync();
        _internet = await InternetNamespace.CreateAsync(_slot);
        _server = await ExecutionServer.StartAsync("network", "--machine-network", _slot.MachineSubnet, "--dns-upstream", _internet.Address);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_internet is not null)
        {
            await _internet.DisposeAsync();
        }

        _slot?.Dispose();
    }

    [Fact]
    public async Task A_machine_has_the_address_the_api_shows_and_an_egress_change_reaches_it_running()
    {
        var id = await _server.CreateRunningMachineAsync();
        var machine = await _server.WaitForPhaseAsync(id, MachinePhases.Running);
        var address = machine.Network!.Address!;
        Assert.True(IPNetwork.Parse(_slot.MachineSubnet).Contains(IPAddress.Parse(address)), address);
        Assert.Contains($"{address}/32", await BashAsync(id, "busybox ip -4 addr show dev eth0"), StringComparison.Ordinal);
        Assert.Equal("reached", await ReachAsync(id, _internet.Address));
        Assert.Equal("refused", await ReachAsync(id, InternetNamespace.PrivateAddress));

        var none = await PatchAsync(id, """{"network":{"egress":"none"}}""");
        Assert.Equal(EgressModes.None, none.Network!.Egress);
        Assert.True(await Eventually.TrueAsync(async () => await ReachAsync(id, _internet.Address) == "refused"), "egress none did not reach the running machine");

        await PatchAsync(id, """{"network":{"egress":"open","allow_cidrs":["10.99.0.0/24"]}}""");
        Assert.True(await Eventually.TrueAsync(async () => await ReachAsync(id, InternetNamespace.PrivateAddress) == "reached"), "allow_cidrs did not open the private range");
        Assert.Equal("reached", await ReachAsync(id, _internet.Address));

        await PatchAsync(id, """{"network":{"allow_cidrs":[]}}""");
        Assert.True(await Eventually.TrueAsync(async () => await ReachAsync(id, InternetNamespace.PrivateAddress) == "refused"), "removing the allow entry did not close it again");
    }

    [Fact]
    public async Task A_restarted_server_keeps_a_running_machine_connected_with_the_same_rules_and_a_deleted_machine_leaves_nothing()
    {
        var id = await _server.CreateRunningMachineAsync();
        Assert.Equal("reached", await ReachAsync(id, _internet.Address));
        var instance = Networking.MachineNetworking.InstanceOf(Path.Combine(_server.DataDirectory, "runtime"));
        var rulesBefore = await RuleCountAsync(instance);

        await _server.RestartAsync();

        Assert.Equal("reached", await ReachAsync(id, _internet.Address));
        Assert.Equal(rulesBefore, await RuleCountAsync(instance));
        Assert.Single((await ProcessRunner.RunAsync("pgrep", "-f", "--", $"--pid-file={_server.DataDirectory}/runtime/network/dnsmasq.pid")).StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries));

        using var deleted = await _server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/v1/machines/{id}"));
        Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync());
        await _server.WaitForPhaseAsync(id, MachinePhases.Destroyed);
        var namespaces = (await ProcessRunner.RunAsync("ip", "netns", "list")).StandardOutput;
        Assert.DoesNotContain($"dedalus-{instance}-dm-{id}", namespaces, StringComparison.Ordinal);
    }

    private async Task<Machine> PatchAsync(string id, string json) =>
        await _server.Http.SendJsonAsync(HttpMethod.Patch, $"/v1/machines/{id}", json, DedalusJsonContext.Default.Machine);

    /// <summary>"reached" when the address's port 80 answers from inside the machine, "refused" otherwise.</summary>
    private async Task<string> ReachAsync(string id, string address) =>
        (await BashAsync(id, $"timeout 10 bash -c 'exec 3<>/dev/tcp/{address}/80' 2>/dev/null && echo reached || echo refused")).Trim();

    private async Task<string> BashAsync(string id, string script)
    {
        var (execution, output) = await _server.RunAsync(id, new { command = new[] { "bash", "-c", script } });
        Assert.True(execution.ExitCode == 0, $"{script}: exit {execution.ExitCode}: {output.Stderr}");
        return output.Stdout ?? string.Empty;
    }

    private static async Task<int> RuleCountAsync(string instance)
    {
        var table = await ProcessRunner.RunAsync("nft", "-a", "list", "table", "inet", "dedalus_" + instance);
        Assert.True(table.ExitCode == 0, table.ToString());
        return table.StandardOutput.Split('\n').Count(l => l.Contains("# handle", StringComparison.Ordinal) && !l.TrimStart().StartsWith("chain", StringComparison.Ordinal)
            && !l.TrimStart().StartsWith("table", StringComparison.Ordinal) && !l.TrimStart().StartsWith("map", StringComparison.Ordinal) && !l.TrimStart().StartsWith("set", StringComparison.Ordinal));
    }
}
