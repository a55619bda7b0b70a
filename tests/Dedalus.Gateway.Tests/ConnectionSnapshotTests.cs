namespace Dedalus.Gateway.Tests;

/// <summary>
/// <see cref="SshGateway.GetConnections"/>: the connections bridged to a machine's sshd, with what the gateway itself saw
/// (the peer from the socket, the session from sshd's own accepted line, the bytes from the pumps), against real sshd.
/// </summary>
public sealed class ConnectionSnapshotTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string MachineA = "dm-5a5a5a5a-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
    private const string MachineB = "dm-5b5b5b5b-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

    [Fact]
    public async Task A_connection_in_its_handshake_is_listed_with_the_peer_its_socket_has_and_no_session()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(MachineA);

        var (socket, banner) = await GatewayHarness.ConnectPastBannerAsync(port);
        using (socket)
        {
            // The pumps count bytes once written on: the identification line may be counted just after sshd's banner came
            // back, and the banner just after the client read it.
            Assert.True(
                await Eventually.TrueAsync(() => harness.Gateway.GetConnections(MachineA).SingleOrDefault() is { } c
                    && c.BytesFromClient == GatewayHarness.ClientIdentification.Length && c.BytesToClient >= banner.Length),
                "the identification line and the banner were never counted");
            var open = Assert.Single(harness.Gateway.GetConnections(MachineA));

            Assert.StartsWith("SSH-2.0-OpenSSH", banner, StringComparison.Ordinal);
            Assert.Equal(socket.LocalEndPoint!.ToString(), open.PeerAddress);
            Assert.Equal(MachineA, open.MachineId);
            Assert.Null(open.SessionId);
            Assert.Null(open.Serial);
            Assert.Equal(GatewayHarness.ClientIdentification.Length, open.BytesFromClient);
            Assert.True(open.BytesToClient >= banner.Length, $"{open.BytesToClient} bytes to the client, less than its banner");
            var all = Assert.Single(harness.Gateway.GetConnections());
            Assert.Equal((open.ConnectionId, open.PeerAddress, open.StartedAt), (all.ConnectionId, all.PeerAddress, all.StartedAt));
            Assert.True(all.BytesToClient >= open.BytesToClient, "a later snapshot counted fewer bytes");
        }

        await harness.Backend.WaitForRecordAsync(r => r.MachineId == MachineA);
        Assert.Empty(harness.Gateway.GetConnections(MachineA));
        Assert.Empty(harness.Gateway.GetConnections());
    }

    [Fact]
    public async Task A_connection_that_has_not_identified_itself_is_not_listed_although_it_is_counted()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(MachineA);

        using var silent = await GatewayHarness.ConnectAsync(port);

        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.OpenConnectionCount == 1), "the gateway never accepted the connection");
        Assert.Empty(harness.Gateway.GetConnections(MachineA));
        Assert.Empty(harness.Gateway.GetConnections());
        Assert.Equal(0, harness.Sshd.LiveProcessCount);
    }

    [Fact]
    public async Task A_logged_in_connection_is_listed_with_its_session_and_serial_and_bytes_that_grow_as_data_goes_through()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var portA = await harness.AddMachineAsync(MachineA);
        await harness.AddMachineAsync(MachineB);
        var identity = await fixture.Site.IssueAsync("sess-snapshot-1", MachineA, 301);

        var ssh = await harness.StartSessionAsync(identity, fixture.Site.SshArguments(identity, portA, "cat", ">/dev/null"));
        var before = Assert.Single(harness.Gateway.GetConnections(MachineA));
        await ssh.StandardInput.WriteAsync(new string('x', 256 * 1024));
        await ssh.StandardInput.FlushAsync();
        GatewayConnectionSnapshot? after = null;
        var grew = await Eventually.TrueAsync(() =>
        {
            after = harness.Gateway.GetConnections(MachineA).SingleOrDefault();
            return after is not null && after.BytesFromClient >= before.BytesFromClient + 256 * 1024;
        });

        Assert.True(grew, $"bytes from the client stayed at {after?.BytesFromClient} (were {before.BytesFromClient})");
        Assert.Equal("sess-snapshot-1", before.SessionId);
        Assert.Equal(301UL, before.Serial);
        Assert.StartsWith("127.0.0.1:", before.PeerAddress, StringComparison.Ordinal);
        Assert.Equal((before.ConnectionId, before.PeerAddress, before.StartedAt), (after!.ConnectionId, after.PeerAddress, after.StartedAt));
        Assert.Empty(harness.Gateway.GetConnections(MachineB));
        Assert.Empty(harness.Gateway.GetConnections("dm-00000000-0000-4000-8000-000000000000"));

        // Its end takes it out of the snapshot; the audit record counts at least what the snapshot had.
        ssh.StandardInput.Close();
        Assert.Equal(0, await ssh.WaitForExitAsync(GatewayHarness.Timeout));
        var record = await harness.Backend.WaitForRecordAsync(r => r.SessionId == "sess-snapshot-1");
        Assert.Equal(after.ConnectionId, record.ConnectionId);
        Assert.Equal(after.PeerAddress, record.PeerAddress);
        Assert.True(record.BytesFromClient >= after.BytesFromClient);
        Assert.Empty(harness.Gateway.GetConnections(MachineA));
    }
}
