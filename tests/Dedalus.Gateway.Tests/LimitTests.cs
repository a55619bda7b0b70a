namespace Dedalus.Gateway.Tests;

/// <summary>Per-machine and gateway-wide connection limits refuse with one readable line.</summary>
public sealed class LimitTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string MachineA = "dm-eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee";
    private const string MachineB = "dm-ffffffff-ffff-4fff-8fff-ffffffffffff";

    [Fact]
    public async Task The_connection_past_the_per_machine_limit_is_refused_and_counts_return_to_zero()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { MaxConnectionsPerMachine = 2 });
        var port = await harness.AddMachineAsync(MachineA);
        var (first, _) = await GatewayHarness.ConnectPastBannerAsync(port);
        var (second, _) = await GatewayHarness.ConnectPastBannerAsync(port);

        using (var third = await GatewayHarness.ConnectAsync(port))
        {
            var line = await GatewayHarness.ReadLineAsync(third);
            Assert.Equal($"dedalus-gateway: too many connections to {MachineA} (limit 2)", line);
            Assert.Equal(0, await GatewayHarness.ReadToEndAsync(third));
        }

        var refused = await harness.Backend.WaitForRecordAsync(r => r.End == GatewayConnectionEnd.RefusedMachineLimit);
        Assert.Equal(MachineA, refused.MachineId);
        Assert.Equal(2, harness.Gateway.GetOpenConnectionCount(MachineA));
        Assert.Equal(2, harness.Sshd.ConnectCount);
        first.Dispose();
        second.Dispose();
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.GetOpenConnectionCount(MachineA) == 0 && harness.Gateway.OpenConnectionCount == 0));
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
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.OpenConnectionCount == 0));
    }

    [Fact]
    public async Task The_openssh_client_shows_the_refusal_line_only_in_verbose_mode_and_exits_255()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { MaxConnectionsPerMachine = 1 });
        var port = await harness.AddMachineAsync(MachineA);
        var identity = await fixture.Site.IssueAsync("sess-limit-1", MachineA, 501);
        var (held, _) = await GatewayHarness.ConnectPastBannerAsync(port);
        using (held)
        {
            var quiet = await harness.SshAsync(identity, port, "true");
            var verbose = await harness.ToolAsync("ssh", [.. fixture.Site.ClientOptions(identity), "-v", "-p", GatewayHarness.Port(port), "root@127.0.0.1", "true"]);

            Assert.Equal(255, quiet.ExitCode);
            Assert.Equal(255, verbose.ExitCode);
            Assert.Contains("kex_exchange_identification", quiet.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("too many connections", quiet.StandardError, StringComparison.Ordinal);
            Assert.Contains($"dedalus-gateway: too many connections to {MachineA} (limit 1)", verbose.StandardError, StringComparison.Ordinal);
        }
    }
}
