using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dedalus.Gateway.Tests;

/// <summary>
/// Before a connection has logged in it costs almost nothing and lives within budgets of its own: nothing starts before
/// its identification line, bad first bytes are refused at once, silent and slow connections are cut, pending budgets
/// per source and per machine, handshakes queued, never at the expense of logged-in connections.
/// </summary>
public sealed class PreAuthenticationTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string Machine = "dm-13131313-1313-4131-8131-131313131313";
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Neighbour = IPAddress.Parse("127.0.0.3");

    /// <summary>Long enough that a test never sees it unless it waits for it.</summary>
    private static readonly TimeSpan Never = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task A_silent_connection_starts_nothing_and_is_cut_readably_after_the_identification_timeout()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { IdentificationTimeout = TimeSpan.FromSeconds(1) });
        var port = await harness.AddMachineAsync(Machine);

        using var silent = await GatewayHarness.ConnectAsync(port);
        var text = await GatewayHarness.ReadAllTextAsync(silent);

        Assert.StartsWith("dedalus-gateway: no SSH identification line within 1 s\r\nSSH-2.0-dedalus-gateway\r\n", text, StringComparison.Ordinal);
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.IdentificationTimeout, record.End);
        Assert.Equal("identification_timeout", record.End.ToWireName());
        Assert.Equal(0, record.BytesFromClient);
        Assert.Equal(0, harness.Backend.AdmissionCount);
        Assert.Equal(0, harness.Sshd.ConnectCount);
        Assert.Equal(0, harness.Backend.ActivityReports(Machine));
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.OpenConnectionCount == 0 && harness.Gateway.PendingConnectionCount == 0));
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: example\r\n\r\n", 2, "this port speaks SSH only: the first line is not an SSH identification: \"GET / HTTP/1.1\"")]
    [InlineData("\u0000\u0000\u0001\u002c\u0006\u0014binary", 2, "the first line is not an SSH identification")]
    [InlineData("SSH-2.0-", 2, "no end of the identification line within 255 bytes")]
    [InlineData("SSH-2.0-Client\u0007\r\n", 2, "not printable ASCII (0x07)")]
    [InlineData("SSH-1.5-OldClient\r\n", 8, "SSH protocol version 1.5 is not supported (2.0 only)")]
    public async Task First_bytes_that_are_not_an_ssh_2_identification_are_refused_at_once_and_start_nothing(string first, int code, string expected)
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { IdentificationTimeout = Never });
        var port = await harness.AddMachineAsync(Machine);
        var bytes = Encoding.Latin1.GetBytes(first == "SSH-2.0-" ? first + new string('a', 300) : first);

        using var socket = await GatewayHarness.ConnectAsync(port);
        await socket.SendAsync(bytes, SocketFlags.None);
        var text = await GatewayHarness.ReadAllTextAsync(socket);

        // Refused well before the (ten-minute) identification timeout: the read above is bounded at a minute.
        Assert.Contains(expected, text, StringComparison.Ordinal);
        var disconnect = ParseDisconnect(text);
        Assert.Equal(code, disconnect.Code);
        Assert.Contains(expected, disconnect.Description, StringComparison.Ordinal);
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.RefusedNotSsh, record.End);
        Assert.True(record.End.IsRefusal());
        Assert.Contains(expected, record.Detail, StringComparison.Ordinal);
        Assert.Equal(0, harness.Backend.AdmissionCount);
        Assert.Equal(0, harness.Sshd.ConnectCount);
    }

    [Fact]
    public async Task An_identification_line_in_pieces_reaches_sshd_whole_with_the_bytes_that_came_after_it()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        // The client's KEXINIT in the same segment as the end of its line, offering a key exchange sshd cannot know:
        // sshd's refusal names it, so sshd parsed exactly what we sent.
        var kexInit = KexInit("none-such@dedalus.test");
        using var socket = await GatewayHarness.ConnectAsync(port);
        socket.NoDelay = true;
        await socket.SendAsync("SSH-2."u8.ToArray(), SocketFlags.None);
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.PendingConnectionCount == 1));
        byte[] rest = [.. "0-InPieces\r\n"u8, .. kexInit];
        await socket.SendAsync(rest, SocketFlags.None);

        var text = await GatewayHarness.ReadAllTextAsync(socket);

        Assert.StartsWith("SSH-2.0-OpenSSH", text, StringComparison.Ordinal);
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal("SSH-2.0-InPieces\r\n".Length + kexInit.Length, record.BytesFromClient);
        Assert.Contains(record.SshdStderrTail, line => line.Contains("no matching key exchange method found", StringComparison.Ordinal) && line.Contains("none-such@dedalus.test", StringComparison.Ordinal));
        Assert.Equal(1, harness.Sshd.ConnectCount);
    }

    [Fact]
    public async Task The_connection_past_the_source_budget_is_refused_readably_while_another_address_logs_in()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { MaxPendingConnectionsPerSource = 3, IdentificationTimeout = Never });
        var port = await harness.AddMachineAsync(Machine);
        var identity = await fixture.Site.IssueAsync("sess-preauth-source", Machine, 601);
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                idle.Add(await GatewayHarness.ConnectAsync(port, Attacker));
            }

            Assert.True(await Eventually.TrueAsync(() => harness.Gateway.GetPendingConnectionCount(Machine) == 3));

            // The fourth from the same address: plain ssh (bound to it) prints why.
            var refused = await harness.ToolAsync("ssh", [.. fixture.Site.ClientOptions(identity), "-b", Attacker.ToString(), "-p", GatewayHarness.Port(port), "root@127.0.0.1", "true"]);
            var legitimate = await harness.SshAsync(identity, port, "echo", "logged-in");

            Assert.Equal(255, refused.ExitCode);
            Assert.Contains(":12: dedalus-gateway: too many unauthenticated connections from 127.0.0.2 (limit 3)", refused.StandardError, StringComparison.Ordinal);
            Assert.True(legitimate.ExitCode == 0, legitimate.ToString());
            Assert.Equal("logged-in", legitimate.StandardOutput.Trim());
            var record = await harness.Backend.WaitForRecordAsync(r => r.End == GatewayConnectionEnd.RefusedSourceLimit);
            Assert.StartsWith("127.0.0.2:", record.PeerAddress, StringComparison.Ordinal);
            Assert.Equal(1, harness.Sshd.ConnectCount);
            Assert.Equal(3, harness.Gateway.GetPendingConnectionCount(Machine));
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Connections_over_the_handshake_budget_wait_their_turn_and_then_log_in()
    {
        var options = new GatewayOptions { MaxHandshakesPerMachine = 1, MaxHandshakesPerSource = 1 };
        await using var harness = new GatewayHarness(fixture.Site, options);
        var port = await harness.AddMachineAsync(Machine);
        var identities = new[]
        {
            await fixture.Site.IssueAsync("sess-preauth-queue-1", Machine, 611),
            await fixture.Site.IssueAsync("sess-preauth-queue-2", Machine, 612),
            await fixture.Site.IssueAsync("sess-preauth-queue-3", Machine, 613),
        };

        // A handshake that does not go on holds the only slot.
        var (stalled, banner) = await GatewayHarness.ConnectPastBannerAsync(port);
        Assert.StartsWith("SSH-2.0-OpenSSH", banner, StringComparison.Ordinal);
        var logins = identities.Select(identity => harness.SshAsync(identity, port, "echo", identity.SessionId)).ToArray();
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.GetHandshakeWaitingCount(Machine) == 3), $"waiting: {harness.Gateway.GetHandshakeWaitingCount(Machine)}");
        Assert.All(logins, login => Assert.False(login.IsCompleted));
        Assert.Equal(1, harness.Sshd.ConnectCount);

        stalled.Dispose();
        var results = await Task.WhenAll(logins);

        Assert.All(results.Zip(identities), pair =>
        {
            Assert.True(pair.First.ExitCode == 0, pair.First.ToString());
            Assert.Equal(pair.Second.SessionId, pair.First.StandardOutput.Trim());
        });
        Assert.Equal(4, harness.Sshd.ConnectCount);
        Assert.DoesNotContain(harness.Backend.Records, r => r.End.IsRefusal());
        Assert.Equal(0, harness.Gateway.GetHandshakeWaitingCount(Machine));
    }

    [Fact]
    public async Task A_full_machine_budget_drops_its_longest_silent_connection_and_logged_in_connections_keep_working()
    {
        var options = new GatewayOptions { MaxPendingConnectionsPerMachine = 4, IdentificationTimeout = Never };
        await using var harness = new GatewayHarness(fixture.Site, options);
        var port = await harness.AddMachineAsync(Machine);
        var holder = await fixture.Site.IssueAsync("sess-preauth-holder", Machine, 621);
        var newcomer = await fixture.Site.IssueAsync("sess-preauth-newcomer", Machine, 622);
        var session = await harness.StartSessionAsync(holder, fixture.Site.SshArguments(holder, port, "cat"));
        Assert.Equal("before", await EchoAsync(session, "before"));
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                idle.Add(await GatewayHarness.ConnectAsync(port, Attacker));
                var count = i + 1;
                Assert.True(await Eventually.TrueAsync(() => harness.Gateway.GetPendingConnectionCount(Machine) == count));
            }

            Assert.Equal(1, harness.Gateway.GetAuthenticatedConnectionCount(Machine));
            Assert.Equal("during", await EchoAsync(session, "during"));

            var login = await harness.ToolAsync("ssh", [.. fixture.Site.ClientOptions(newcomer), "-b", Neighbour.ToString(), "-p", GatewayHarness.Port(port), "root@127.0.0.1", "echo", "in"]);

            Assert.True(login.ExitCode == 0, login.ToString());
            Assert.Equal("in", login.StandardOutput.Trim());
            // The first silent connection made room; it was told why.
            var dropped = await GatewayHarness.ReadAllTextAsync(idle[0]);
            Assert.StartsWith("dedalus-gateway: too many connections waiting to identify; this one had waited longest\r\n", dropped, StringComparison.Ordinal);
            var record = await harness.Backend.WaitForRecordAsync(r => r.End == GatewayConnectionEnd.PendingEvicted);
            Assert.StartsWith("127.0.0.2:", record.PeerAddress, StringComparison.Ordinal);
            Assert.Equal("after", await EchoAsync(session, "after"));
            Assert.Equal(1, harness.Gateway.GetSessionConnectionCount("sess-preauth-holder"));
            Assert.Equal(3, harness.Gateway.GetPendingConnectionCount(Machine));
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task A_full_machine_budget_with_no_silent_connection_refuses_the_newcomer()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { MaxPendingConnectionsPerMachine = 2 });
        var port = await harness.AddMachineAsync(Machine);
        var (first, _) = await GatewayHarness.ConnectPastBannerAsync(port);
        var (second, _) = await GatewayHarness.ConnectPastBannerAsync(port, Neighbour);
        using (first)
        using (second)
        using (var third = await GatewayHarness.ConnectAsync(port, Attacker))
        {
            var text = await GatewayHarness.ReadAllTextAsync(third);

            Assert.StartsWith($"dedalus-gateway: too many unauthenticated connections to {Machine} (limit 2); try again\r\n", text, StringComparison.Ordinal);
            var record = await harness.Backend.WaitForRecordAsync(r => r.End == GatewayConnectionEnd.RefusedPendingLimit);
            Assert.StartsWith("127.0.0.2:", record.PeerAddress, StringComparison.Ordinal);
            Assert.Equal(2, harness.Sshd.ConnectCount);
        }
    }

    [Fact]
    public async Task A_connection_that_does_not_log_in_within_the_grace_period_is_cut_and_its_sshd_ends()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { AuthenticationTimeout = TimeSpan.FromSeconds(2) });
        var port = await harness.AddMachineAsync(Machine);

        var (socket, banner) = await GatewayHarness.ConnectPastBannerAsync(port);
        using (socket)
        {
            Assert.StartsWith("SSH-2.0-OpenSSH", banner, StringComparison.Ordinal);
            await GatewayHarness.ReadAllTextAsync(socket);
        }

        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.AuthenticationTimeout, record.End);
        Assert.Equal("not authenticated within 2 s", record.Detail);
        Assert.Null(record.SessionId);
        Assert.True(await Eventually.TrueAsync(() => harness.Sshd.LiveProcessCount == 0));
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.OpenConnectionCount == 0 && harness.Gateway.PendingConnectionCount == 0));
    }

    [Fact]
    public async Task A_logged_in_connection_outlives_the_grace_period()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { AuthenticationTimeout = TimeSpan.FromSeconds(2) });
        var port = await harness.AddMachineAsync(Machine);
        var identity = await fixture.Site.IssueAsync("sess-preauth-grace", Machine, 631);

        // The command outlasts the grace period several times over; cutting it would fail the login.
        var result = await harness.SshAsync(identity, port, "sleep 6; echo", "still-here");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("still-here", result.StandardOutput.Trim());
        var record = await harness.Backend.WaitForRecordAsync(r => r.SessionId == "sess-preauth-grace");
        Assert.Contains(record.End, new[] { GatewayConnectionEnd.MachineClosed, GatewayConnectionEnd.ClientClosed });
    }

    [Fact]
    public async Task Closing_the_machine_connections_cuts_silent_ones_too()
    {
        await using var harness = new GatewayHarness(fixture.Site, new GatewayOptions { IdentificationTimeout = Never });
        var port = await harness.AddMachineAsync(Machine);
        using var silent = await GatewayHarness.ConnectAsync(port, Attacker);
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.GetPendingConnectionCount(Machine) == 1));

        Assert.Equal(1, harness.Gateway.CloseMachineConnections(Machine));

        await GatewayHarness.ReadAllTextAsync(silent);
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.GatewayClosed, record.End);
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.PendingConnectionCount == 0 && harness.Gateway.OpenConnectionCount == 0));
    }

    /// <summary>Writes a line into a held-open <c>ssh ... cat</c> and reads it back.</summary>
    private static async Task<string?> EchoAsync(TestProcess session, string line)
    {
        using var cts = new CancellationTokenSource(GatewayHarness.Timeout);
        await session.StandardInput.WriteLineAsync(line.AsMemory(), cts.Token);
        await session.StandardInput.FlushAsync(cts.Token);
        return await session.StandardOutput.ReadLineAsync(cts.Token);
    }

    /// <summary>The SSH_MSG_DISCONNECT after the gateway's identification line: its reason code and description.</summary>
    private static (int Code, string Description) ParseDisconnect(string text)
    {
        var at = text.IndexOf("SSH-2.0-dedalus-gateway\r\n", StringComparison.Ordinal);
        Assert.True(at >= 0, $"no gateway identification in: {text}");
        var packet = Encoding.Latin1.GetBytes(text[(at + "SSH-2.0-dedalus-gateway\r\n".Length)..]);
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(packet);
        Assert.Equal(packet.Length, 4 + length);
        Assert.Equal(0, packet.Length % 8);
        Assert.True(packet[4] >= 4, "at least 4 bytes of padding");
        Assert.Equal(1, packet[5]); // SSH_MSG_DISCONNECT
        var code = (int)BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(6));
        var descriptionLength = (int)BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(10));
        return (code, Encoding.UTF8.GetString(packet, 14, descriptionLength));
    }

    /// <summary>A client SSH_MSG_KEXINIT (RFC 4253 section 7.1) offering only <paramref name="kex"/> as key exchange, framed.</summary>
    private static byte[] KexInit(string kex)
    {
        var payload = new List<byte> { 20 };
        payload.AddRange(new byte[16]);
        foreach (var list in new[] { kex, "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", "" })
        {
            var bytes = Encoding.ASCII.GetBytes(list);
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
            payload.AddRange(length);
            payload.AddRange(bytes);
        }

        payload.Add(0); // first_kex_packet_follows
        payload.AddRange(new byte[4]); // reserved
        return SshPlainPacket.Frame([.. payload]);
    }
}
