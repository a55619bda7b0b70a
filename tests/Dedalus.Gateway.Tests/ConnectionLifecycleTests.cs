using System.Net.Sockets;

namespace Dedalus.Gateway.Tests;

/// <summary>Half-close, sshd exit, client reset and cuts, seen on raw sockets.</summary>
public sealed class ConnectionLifecycleTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string Machine = "dm-dddddddd-dddd-4ddd-8ddd-dddddddddddd";

    [Fact]
    public async Task A_client_half_close_closes_sshd_stdin_and_the_connection_ends_cleanly()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        var (socket, banner) = await GatewayHarness.ConnectPastBannerAsync(port);
        using (socket)
        {
            socket.Shutdown(SocketShutdown.Send);
            await GatewayHarness.ReadToEndAsync(socket);
        }

        Assert.StartsWith("SSH-2.0-OpenSSH", banner, StringComparison.Ordinal);
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.ClientClosed, record.End);
        Assert.Equal("SSH-2.0-DedalusGatewayTest\r\n".Length, record.BytesFromClient);
        Assert.True(record.BytesToClient > banner.Length);
        Assert.True(await Eventually.TrueAsync(() => harness.Sshd.LiveProcessCount == 0));
    }

    [Fact]
    public async Task When_sshd_exits_the_client_sees_end_of_stream()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        var (socket, _) = await GatewayHarness.ConnectPastBannerAsync(port);
        using (socket)
        {
            Assert.True(await Eventually.TrueAsync(() => harness.Sshd.LiveProcessCount == 1));
            harness.Sshd.KillAll();
            await GatewayHarness.ReadToEndAsync(socket);
        }

        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.MachineClosed, record.End);
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.OpenConnectionCount == 0));
    }

    [Fact]
    public async Task A_client_reset_kills_sshd_and_leaks_no_connection()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        for (var i = 0; i < 5; i++)
        {
            var (socket, _) = await GatewayHarness.ConnectPastBannerAsync(port);
            socket.LingerState = new LingerOption(true, 0);
            socket.Dispose();
        }

        Assert.True(await Eventually.TrueAsync(() => harness.Backend.Records.Count == 5));
        Assert.All(harness.Backend.Records, r => Assert.Equal(GatewayConnectionEnd.ClientClosed, r.End));
        Assert.Equal(0, harness.Gateway.GetOpenConnectionCount(Machine));
        Assert.Equal(0, harness.Gateway.OpenConnectionCount);
        Assert.True(await Eventually.TrueAsync(() => harness.Sshd.LiveProcessCount == 0));
    }

    [Fact]
    public async Task Closing_the_machine_connections_cuts_them_and_the_listener_stays_open()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        var (first, _) = await GatewayHarness.ConnectPastBannerAsync(port);
        var (second, _) = await GatewayHarness.ConnectPastBannerAsync(port);
        using (first)
        using (second)
        {
            Assert.Equal(2, harness.Gateway.GetOpenConnectionCount(Machine));
            Assert.Equal(2, harness.Gateway.CloseMachineConnections(Machine));
            // Cut: a reset, or the end of the stream; not a read that waits until it gives up.
            var cut = await Record.ExceptionAsync(() => GatewayHarness.ReadToEndAsync(first));
            Assert.True(cut is null or SocketException, $"the connection was not cut: {cut}");
        }

        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.GetOpenConnectionCount(Machine) == 0));
        Assert.All(harness.Backend.Records, r => Assert.Equal(GatewayConnectionEnd.GatewayClosed, r.End));
        var (third, banner) = await GatewayHarness.ConnectPastBannerAsync(port);
        third.Dispose();
        Assert.StartsWith("SSH-2.0-", banner, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closing_a_machine_stops_its_listener()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        var (open, _) = await GatewayHarness.ConnectPastBannerAsync(port);

        await harness.Gateway.CloseAsync(Machine).WaitAsync(GatewayHarness.Timeout);

        using (open)
        {
            Assert.Equal(0, harness.Gateway.OpenConnectionCount);
            Assert.Null(harness.Gateway.GetEndPoint(Machine));
            await Assert.ThrowsAsync<SocketException>(() => GatewayHarness.ConnectAsync(port));
        }

        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.GatewayClosed, record.End);
    }

    [Fact]
    public async Task Opening_a_port_outside_the_range_is_refused_with_a_gateway_exception()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { PortRangeStart = 40000, PortRangeEnd = 40010 });

        var error = await Assert.ThrowsAsync<GatewayException>(() => harness.Gateway.OpenAsync(Machine, 39999));

        Assert.Equal(39999, error.Port);
        Assert.Equal(Machine, error.MachineId);
        Assert.Equal(GatewayError.PortOutsideRange, error.Error);
    }

    [Fact]
    public async Task Opening_a_port_another_socket_holds_fails_with_a_gateway_exception()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { PortRangeStart = 1024, PortRangeEnd = 65535 });
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var taken = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;

        var error = await Assert.ThrowsAsync<GatewayException>(() => harness.Gateway.OpenAsync(Machine, taken));

        Assert.Equal(taken, error.Port);
        Assert.Equal(GatewayError.PortInUse, error.Error);
        Assert.Null(harness.Gateway.GetEndPoint(Machine));
    }

    [Fact]
    public async Task Opening_the_same_machine_twice_on_its_port_is_idempotent()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { PortRangeStart = 1024, PortRangeEnd = 65535 });
        var port = await harness.AddMachineAsync(Machine);

        var again = await harness.Gateway.OpenAsync(Machine, port).WaitAsync(GatewayHarness.Timeout);

        Assert.Equal(port, again.Port);
        Assert.Equal([Machine], harness.Gateway.ListeningMachines);
        var elsewhere = await Assert.ThrowsAsync<GatewayException>(() => harness.Gateway.OpenAsync(Machine, port == 65535 ? 65534 : port + 1));
        Assert.Equal(GatewayError.ListeningOnAnotherPort, elsewhere.Error);
    }
}
