using System.Net;
using Dedalus.Contracts;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>The <c>network</c> object of create and update (our extension) through the real API on the in-memory runtime.</summary>
public sealed class NetworkPolicyApiTests : ServerTestBase
{
    [Fact]
    public async Task A_machine_created_without_network_gets_an_address_of_the_default_subnet_and_the_open_policy()
    {
        var created = await Api.CreateMachineAsync();
        var running = await Api.WaitForPhaseAsync(created.MachineId, MachinePhases.Running);

        Assert.NotNull(running.Network);
        Assert.Equal(EgressModes.Open, running.Network.Egress);
        Assert.Empty(running.Network.AllowCidrs!);
        Assert.Empty(running.Network.DenyCidrs!);
        Assert.True(IPNetwork.Parse("10.207.0.0/16").Contains(IPAddress.Parse(running.Network.Address!)), running.Network.Address);
        var applied = Server.Runtime.NetworkOf("dm-" + created.MachineId);
        Assert.NotNull(applied);
        Assert.Equal(running.Network.Address, applied.Address.ToString());
        Assert.Equal(MachineNetworkPolicy.Default, applied.Policy);
    }

    [Fact]
    public async Task Two_machines_get_different_addresses_and_a_machine_keeps_its_address_across_sleep_and_wake()
    {
        var first = await Api.CreateRunningMachineAsync();
        var second = await Api.CreateRunningMachineAsync();
        Assert.NotEqual(first.Network!.Address, second.Network!.Address);
        Assert.NotEqual("10.207.0.1", first.Network.Address); // the host side's

        Assert.Equal(HttpStatusCode.OK, (await Api.PostAsync($"/v1/machines/{first.MachineId}/sleep", null)).Status);
        await Api.WaitForPhaseAsync(first.MachineId, MachinePhases.Sleeping);
        Assert.Equal(HttpStatusCode.OK, (await Api.PostAsync($"/v1/machines/{first.MachineId}/wake", null)).Status);
        var woken = await Api.WaitForPhaseAsync(first.MachineId, MachinePhases.Running);

        Assert.Equal(first.Network.Address, woken.Network!.Address);
    }

    [Fact]
    public async Task Create_takes_a_policy_and_the_runtime_gets_it()
    {
        var created = await Api.CreateMachineAsync(
            """{"vcpu":1,"memory_mib":1024,"storage_gib":10,"network":{"egress":"open","allow_cidrs":["10.20.0.0/16"],"deny_cidrs":["203.0.113.0/24","2001:db8::/32"]}}""");
        await Api.WaitForPhaseAsync(created.MachineId, MachinePhases.Running);

        Assert.Equal(["10.20.0.0/16"], created.Network!.AllowCidrs);
        Assert.Equal(["203.0.113.0/24", "2001:db8::/32"], created.Network.DenyCidrs);
        var applied = Server.Runtime.NetworkOf("dm-" + created.MachineId)!;
        Assert.Equal([IPNetwork.Parse("10.20.0.0/16")], applied.Policy.AllowCidrs);
        Assert.Equal([IPNetwork.Parse("203.0.113.0/24"), IPNetwork.Parse("2001:db8::/32")], applied.Policy.DenyCidrs);
    }

    [Fact]
    public async Task An_update_replaces_the_fields_it_gives_keeps_the_others_and_reaches_a_running_machine()
    {
        var machine = await Api.CreateRunningMachineAsync(
            """{"vcpu":1,"memory_mib":1024,"storage_gib":10,"network":{"allow_cidrs":["10.20.0.0/16"]}}""");
        var id = "dm-" + machine.MachineId;

        var patched = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"network":{"egress":"none"}}""");

        Assert.Equal(HttpStatusCode.OK, patched.Status);
        Assert.Equal(EgressModes.None, patched.Machine().Network!.Egress);
        Assert.Equal(["10.20.0.0/16"], patched.Machine().Network!.AllowCidrs);
        Assert.True(await Eventually.TrueAsync(() => Server.Runtime.NetworkOf(id)?.Policy.Egress == MachineEgress.None));
        Assert.Equal([IPNetwork.Parse("10.20.0.0/16")], Server.Runtime.NetworkOf(id)!.Policy.AllowCidrs);
        Assert.Equal(machine.Network!.Address, Server.Runtime.NetworkOf(id)!.Address.ToString());

        var emptied = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"network":{"egress":"open","allow_cidrs":[]}}""");
        Assert.Equal(HttpStatusCode.OK, emptied.Status);
        Assert.True(await Eventually.TrueAsync(() => Server.Runtime.NetworkOf(id) is { Policy: { Egress: MachineEgress.Open, AllowCidrs.Count: 0 } }));
        var settled = await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);
        Assert.Equal(EgressModes.Open, settled.Network!.Egress);
    }

    [Fact]
    public async Task The_same_policy_again_is_no_change_and_keeps_the_revision()
    {
        var machine = await Api.CreateRunningMachineAsync("""{"network":{"egress":"none"}}""");

        var again = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"network":{"egress":"none"}}""");

        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(machine.Status.Revision, again.Machine().Status.Revision);
    }

    [Theory]
    [InlineData("""{"network":{"egress":"closed"}}""", "network.egress", "\"open\" or \"none\"")]
    [InlineData("""{"network":{"allow_cidrs":["10.0.0.0/33"]}}""", "network.allow_cidrs[0]", "is not a CIDR")]
    [InlineData("""{"network":{"allow_cidrs":["10.20.0.0/16","10.1.2.3/8"]}}""", "network.allow_cidrs[1]", "did you mean 10.0.0.0/8")]
    [InlineData("""{"network":{"deny_cidrs":["example.com"]}}""", "network.deny_cidrs[0]", "is not a CIDR")]
    [InlineData("""{"network":{"deny_cidrs":[null]}}""", "network.deny_cidrs[0]", "is null")]
    [InlineData("""{"network":{"address":"10.207.0.9"}}""", "network.address", "assigned by the server")]
    public async Task A_bad_network_field_is_a_400_naming_it_and_creates_nothing(string body, string field, string message)
    {
        var response = await Api.PostAsync("/v1/machines", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        var error = response.Error();
        Assert.Equal(field, error.Details![ErrorDetailKeys.Field]);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Empty((await Api.GetAsync("/v1/machines")).MachineList().Items);
    }

    [Fact]
    public async Task A_bad_network_field_on_update_is_a_400_and_changes_nothing()
    {
        var machine = await Api.CreateRunningMachineAsync("""{"network":{"deny_cidrs":["203.0.113.0/24"]}}""");

        var response = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"network":{"egress":"none","deny_cidrs":["nope"]}}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("network.deny_cidrs[0]", response.Error().Details![ErrorDetailKeys.Field]);
        var after = (await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine();
        Assert.Equal(EgressModes.Open, after.Network!.Egress);
        Assert.Equal(["203.0.113.0/24"], after.Network.DenyCidrs);
        Assert.Equal(machine.Status.Revision, after.Status.Revision);
    }

    [Fact]
    public async Task More_than_64_cidrs_is_a_400()
    {
        var cidrs = string.Join(",", Enumerable.Range(0, 65).Select(i => $"\"203.0.{i}.0/24\""));

        var response = await Api.PostAsync("/v1/machines", "{\"network\":{\"deny_cidrs\":[" + cidrs + "]}}");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("at most 64", response.Error().Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_without_network_from_an_official_client_leaves_the_policy_alone()
    {
        var machine = await Api.CreateRunningMachineAsync("""{"network":{"egress":"none"}}""");

        var renamed = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"name":"web-1"}""");

        Assert.Equal(HttpStatusCode.OK, renamed.Status);
        Assert.Equal(EgressModes.None, renamed.Machine().Network!.Egress);
    }
}

/// <summary>With <c>--machine-network off</c> machines have loopback only and a <c>network</c> object is refused.</summary>
public sealed class NetworkingOffApiTests : ServerTestBase
{
    protected override Task<RunningServer> StartServerAsync(string dataDirectory) =>
        RunningServer.StartAsync(dataDirectory, extraArgs: ["--machine-network", "off"]);

    [Fact]
    public async Task Machines_have_no_network_and_a_network_object_is_a_400()
    {
        var machine = await Api.CreateRunningMachineAsync();
        Assert.Null(machine.Network);
        Assert.Null(Server.Runtime.NetworkOf("dm-" + machine.MachineId));

        var response = await Api.PostAsync("/v1/machines", """{"network":{"egress":"none"}}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("network", response.Error().Details![ErrorDetailKeys.Field]);
        Assert.Contains("--machine-network off", response.Error().Message, StringComparison.Ordinal);
    }
}
