namespace Dedalus.Gateway.Tests;

/// <summary>
/// The per-machine limit counts authenticated connections, the gateway-wide one every connection; both refuse with a
/// reason plain ssh prints.
/// </summary>
public sealed class LimitTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string MachineA = "dm-eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee";
    private const string MachineB = "dm-ffffffff-ffff-4fff-8fff-ffffffffffff";

    [Fact]
    public async Task The_connection_past_the_per_machine_limit_of_logged_in_connections_is_refused_and_counts_return_to_zero()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { MaxConnectionsPerMachine = 2 });
        var port = await harness.AddMachineAsync(MachineA);
        var first = await fixture.Site.IssueAsync("sess-limit-a", MachineA, 511);
        var second = await fixture.Site.IssueAsync("sess-limit-b", MachineA, 512);
        var one = await harness.StartSessionAsync(first, fixture.Site.SshArguments(first, port, "sleep", "600"));
        var two = await harness.StartSessionAsync(second, fixture.Site.SshArguments(second, port, "sleep", "600"));

        using (var third = await GatewayHarness.ConnectAndIdentifyAsync(port))
        {
            var text = await GatewayHarness.ReadAllTextAsync(third);
            Assert.StartsWith($"dedalus-gateway: too many connections to {MachineA} (limit 2)\r\nSSH-2.0-dedalus-gateway\r\n", text, StringComparison.Ordinal);
        }

        var refused = await harness.Backend.WaitForRecordAsync(r => r.End == GatewayConnectionEnd.RefusedMachineLimit);
        Assert.Equal(MachineA, refused.MachineId);
        Assert.Equal(2, harness.Gateway.GetAuthenticatedConnectionCount(MachineA));
        Assert.Equal(2, harness.Sshd.ConnectCount);
        one.Kill();
        two.Kill();
        Assert.True(await Eventually.TrueAsync(() =>
            harness.Gateway.GetOpenConnectionCount(MachineA) == 0 && harness.Gateway.GetAuthenticatedConnectionCount(MachineA) == 0 &&
            harness.Gateway.GetPendingConnectionCount(MachineA) == 0 && harness.Gateway.OpenConnectionCount == 0));
    }

    [Fact]
    public async Task Connections_that_have_not_logged_in_take_none_of_the_machine_slots()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { MaxConnectionsPerMachine = 1 });
        var port = await harness.AddMachineAsync(MachineA);
        var identity = await fixture.Site.IssueAsync("sess-limit-c", MachineA, 513);
        var stalled = new List<System.Net.Sockets.Socket>();
        try
        {
            // Three handshakes that never go on: sshd runs for each, none authenticates.
            for (var i = 0; i < 3; i++)
            {
                stalled.Add((await GatewayHarness.ConnectPastBannerAsync(port)).Socket);
            }

            var login = await harness.SshAsync(identity, port, "echo", "in");

            Assert.True(login.ExitCode == 0, login.ToString());
            Assert.Equal("in", login.StandardOutput.Trim());
            Assert.Equal(3, harness.Gateway.GetPendingConnectionCount(MachineA));
            Assert.DoesNotContain(harness.Backend.Records, r => r.End.IsRefusal());
        }
        finally
        {
            stalled.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task The_connection_past_the_gateway_limit_is_refused_on_any_machine_and_counts_return_to_zero()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { MaxConnections = 2 });
        var portA = await harness.AddMachineAsync(MachineA);
        var portB = await harness.AddMachineAsync(MachineB);
        var (first, _) = await GatewayHarness.ConnectPastBannerAsync(portA);
        var (second, _) = await GatewayHarness.ConnectPastBannerAsync(portA);

        using (var third = await GatewayHarness.ConnectAsync(portB))
        {
            var line = await GatewayHarness.ReadLineAsync(third);
            Assert.Equal("dedalus-gateway: too many connections through this gateway (limit 2)", line);
        }

        var refused = await harness.Backend.WaitForRecordAsync(r => r.End == GatewayConnectionEnd.RefusedGatewayLimit);
        Assert.Equal(MachineB, refused.MachineId);
        Assert.Equal(0, harness.Gateway.GetOpenConnectionCount(MachineB));
        first.Dispose();
        second.Dispose();
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.OpenConnectionCount == 0 && harness.Gateway.PendingConnectionCount == 0));
    }

    [Fact]
    public async Task The_plain_openssh_client_prints_the_refusal_and_exits_255()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { MaxConnectionsPerMachine = 1 });
        var port = await harness.AddMachineAsync(MachineA);
        var holder = await fixture.Site.IssueAsync("sess-limit-1", MachineA, 501);
        var identity = await fixture.Site.IssueAsync("sess-limit-2", MachineA, 502);
        await harness.StartSessionAsync(holder, fixture.Site.SshArguments(holder, port, "sleep", "600"));

        var quiet = await harness.SshAsync(identity, port, "true");
        var verbose = await harness.ToolAsync("ssh", [.. fixture.Site.ClientOptions(identity), "-v", "-p", GatewayHarness.Port(port), "root@127.0.0.1", "true"]);

        Assert.Equal(255, quiet.ExitCode);
        Assert.Equal(255, verbose.ExitCode);
        // "Received disconnect from 127.0.0.1 port P:12: dedalus-gateway: too many connections to ... (limit 1)"
        Assert.Contains($":12: dedalus-gateway: too many connections to {MachineA} (limit 1)", quiet.StandardError, StringComparison.Ordinal);
        Assert.Contains("Received disconnect from 127.0.0.1", quiet.StandardError, StringComparison.Ordinal);
        Assert.Contains($"dedalus-gateway: too many connections to {MachineA} (limit 1)", verbose.StandardError, StringComparison.Ordinal);
        Assert.Equal(1, harness.Sshd.ConnectCount);
    }
}
