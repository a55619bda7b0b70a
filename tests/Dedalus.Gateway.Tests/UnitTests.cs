using System.Buffers.Binary;
using System.Net;
using System.Text;
using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway.Tests;

/// <summary>Pure pieces: sshd log parsing, audit names, option validation, identification lines, refusal packets, sources.</summary>
public sealed class UnitTests
{
    [Theory]
    [InlineData("Accepted publickey for root from UNKNOWN port 65535 ssh2: ED25519-CERT SHA256:abc/def ID sess-1 (serial 42) CA ED25519 SHA256:xyz", "root", "UNKNOWN", 65535, "sess-1", 42UL)]
    [InlineData("Accepted publickey for machine from 192.0.2.10 port 5000 ssh2: ECDSA-CERT SHA256:q ID ses_01J (serial) x (serial 18446744073709551615) CA RSA SHA256:z\r", "machine", "192.0.2.10", 5000, "ses_01J (serial) x", 18446744073709551615UL)]
    [InlineData("Accepted publickey for machine from 192.0.2.1 port 40022 ssh2: ED25519-CERT SHA256:RbSvK9El4r65x+6sMMJYgZUFM9/BH9YF3CdmD+d81wU ID sess-1 (serial 9) CA x (serial 42) CA ED25519 SHA256:i8iinqrnJOWBTIogC0pB/qoGWAcLYX2pKCn7o+zbzv4", "machine", "192.0.2.1", 40022, "sess-1 (serial 9) CA x", 42UL)]
    [InlineData("Accepted publickey for machine from ::1 port 1 ssh2: ED25519-SK-CERT SHA256:k ID s (serial 7) CA ED25519 SHA256:c, signature count = 12", "machine", "::1", 1, "s", 7UL)]
    public void The_accepted_line_yields_the_user_source_session_id_and_serial(string line, string user, string address, int port, string sessionId, ulong serial)
    {
        Assert.True(SshdAcceptedLine.TryParse(line.TrimEnd('\r'), out var accepted));
        Assert.Equal(new SshdAcceptedLine(user, address, port, accepted.KeyType, sessionId, serial), accepted);
    }

    [Theory]
    [InlineData("Accepted publickey for root from 198.51.100.4 port 1 ssh2: ED25519 SHA256:plainkey")]
    [InlineData("Failed publickey for root from 198.51.100.4 port 1 ssh2: ED25519-CERT SHA256:x ID s (serial 1) CA ED25519 SHA256:y")]
    [InlineData("Accepted publickey for root ID s (serial -1) CA x")]
    [InlineData("Accepted publickey for root from 203.0.113.4 port 70000 ssh2: ED25519-CERT SHA256:x ID s (serial 1) CA ED25519 SHA256:y")]
    [InlineData("Accepted publickey for root from 203.0.113.4 port 1 ssh2: ED25519-CERT SHA256:x ID s (serial 1) CA ED25519 SHA256:y trailing")]
    [InlineData("Accepted publickey for root from 203.0.113.4 port 1 ssh2: ED25519-CERT SHA256:x ID (serial 1) CA ED25519 SHA256:y")]
    [InlineData("Accepted password for root from 203.0.113.4 port 1 ssh2: ED25519-CERT SHA256:x ID s (serial 1) CA ED25519 SHA256:y")]
    [InlineData(" Accepted publickey for root from 203.0.113.4 port 1 ssh2: ED25519-CERT SHA256:x ID s (serial 1) CA ED25519 SHA256:y")]
    public void Lines_without_an_accepted_certificate_yield_nothing(string line)
    {
        Assert.False(SshdAcceptedLine.TryParse(line, out _));
    }

    /// <summary>
    /// What sshd (OpenSSH 9.2, -e) really writes for client-chosen user names that hold the marker (seen on this host
    /// with a client that sends them): "Invalid user ..." and "Connection closed by invalid user ..." lines, and, for a
    /// name with a line break, the piece after it, which sshd cut at the name's first ':' (its "user:style" syntax).
    /// </summary>
    [Theory]
    [InlineData("Invalid user evil Accepted publickey for x from 127.0.0.1 port 58174")]
    [InlineData("Connection closed by invalid user evil Accepted publickey for x 127.0.0.1 port 58174 [preauth]")]
    [InlineData("Invalid user Accepted publickey for machine from 192.0.2.1 port 1 ssh2: ED25519-CERT SHA256:x ID forged (serial 1) CA ED25519 SHA256:y from 192.0.2.1 port 40000")]
    [InlineData("Accepted publickey for root from 127.0.0.1 port 1 ssh2 from 127.0.0.1 port 35344")]
    [InlineData("Accepted publickey for root from 127.0.0.1 port 1 ssh2 127.0.0.1 port 35344 [preauth]")]
    [InlineData("Accepted publickey for root from 127.0.0.1 port 1 ssh2: ED25519-CERT SHA256:x ID forged (serial 1) CA ED25519 SHA256:y from 127.0.0.1 port 35344")]
    [InlineData("Accepted publickey for root from 127.0.0.1 port 1 ssh2: ED25519-CERT SHA256:x ID forged (serial 1) CA ED25519 SHA256:y 127.0.0.1 port 35344 [preauth]")]
    [InlineData("Postponed publickey for machine from 192.0.2.1 port 40000 ssh2 [preauth]")]
    [InlineData("Accepted certificate ID \"sess-1 (serial 9) CA x\" (serial 42) signed by ED25519 CA SHA256:i8ii via /etc/ssh/dedalus-trust/user_ca_keys.pub")]
    public void Forged_or_other_lines_holding_the_marker_yield_nothing(string line)
    {
        Assert.False(SshdAcceptedLine.TryParse(line, out _));
    }

    [Fact]
    public void The_pipes_to_and_from_sshd_are_grown_to_a_mebibyte_and_other_streams_are_left_alone()
    {
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.In);
        Assert.Equal(64 * 1024, PipeCapacity.SizeOf(pipe));

        PipeCapacity.TryGrow(pipe);

        Assert.Equal(PipeCapacity.Bytes, PipeCapacity.SizeOf(pipe));
        using var memory = new MemoryStream();
        PipeCapacity.TryGrow(memory);
        Assert.Equal(-1, PipeCapacity.SizeOf(memory));
    }

    [Fact]
    public async Task An_endless_stderr_write_is_cut_at_the_line_bound_and_no_record_of_it_names_a_login()
    {
        var accepted = "Accepted publickey for machine from 127.0.0.1 port 1 ssh2: ED25519-CERT SHA256:x ID sess-1 (serial 42) CA ED25519 SHA256:y";
        using var stream = new MemoryStream([.. Enumerable.Repeat((byte)'A', 10 * 1024 * 1024), (byte)'\n', .. System.Text.Encoding.UTF8.GetBytes(accepted + "\r\n")]);
        var reader = new SshdLogReader(stream, 512);
        var records = new List<SshdLogRecord>();

        while (await reader.ReadAsync() is { } record)
        {
            records.Add(record);
        }

        Assert.All(records, r => Assert.All(r.Lines, line => Assert.True(line.Length <= 512)));
        Assert.All(records, r => Assert.False(r.TryParseAccepted(out _)));
        Assert.Contains(records, r => r.Lines.Contains(accepted));
    }

    [Fact]
    public void A_kexinit_of_printable_names_passes_and_any_other_first_packet_is_refused_with_the_reason()
    {
        var valid = LogForgery.KexInitPacket("curve25519-sha256,ext-info-c");

        Assert.Equal(SshKexInitStatus.Valid, SshKexInit.Check(valid, out _));
        Assert.Equal(SshKexInitStatus.Incomplete, SshKexInit.Check(valid.AsSpan(0, valid.Length - 1), out _));
        Assert.Equal(SshKexInitStatus.Incomplete, SshKexInit.Check(valid.AsSpan(0, 3), out _));
        Assert.Equal(SshKexInitStatus.Invalid, SshKexInit.Check(LogForgery.KexInitPacket("a b"), out var space));
        Assert.Equal("the KEXINIT name-list kex_algorithms holds byte 0x20 at offset 1: names are printable US-ASCII only (RFC 4251 section 5)", space);
        Assert.Equal(SshKexInitStatus.Invalid, SshKexInit.Check(LogForgery.KexInitPacket("caf\u00e9"), out var utf8));
        Assert.Contains("0xc3", utf8, StringComparison.Ordinal);
        Assert.Equal(SshKexInitStatus.Invalid, SshKexInit.Check(SshRefusal.DisconnectPacket(SshDisconnectReason.ProtocolError, "x"), out var notKexInit));
        Assert.Equal("the first packet is message 1, not KEXINIT (20)", notKexInit);
        Assert.Equal(SshKexInitStatus.Invalid, SshKexInit.Check([0x7F, 0, 0, 0, 4], out var huge));
        Assert.Contains("length", huge, StringComparison.Ordinal);
        var truncated = valid.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(truncated.AsSpan(4 + 1 + 1 + 16), 100_000);
        Assert.Equal(SshKexInitStatus.Invalid, SshKexInit.Check(truncated, out var overrun));
        Assert.Equal("the KEXINIT ends in its name-list kex_algorithms", overrun);
    }

    [Fact]
    public void Every_connection_end_has_a_distinct_snake_case_wire_name()
    {
        var names = Enum.GetValues<GatewayConnectionEnd>().Select(e => e.ToWireName()).ToList();

        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[a-z]+(_[a-z]+)*$", n));
        Assert.Equal("session_closed", GatewayConnectionEnd.SessionClosed.ToWireName());
        Assert.True(GatewayConnectionEnd.RefusedGatewayLimit.IsRefusal());
        Assert.True(GatewayConnectionEnd.RefusedNotSsh.IsRefusal());
        Assert.True(GatewayConnectionEnd.RefusedSourceLimit.IsRefusal());
        Assert.True(GatewayConnectionEnd.RefusedPendingLimit.IsRefusal());
        Assert.False(GatewayConnectionEnd.Error.IsRefusal());
        Assert.False(GatewayConnectionEnd.IdentificationTimeout.IsRefusal());
        Assert.False(GatewayConnectionEnd.AuthenticationTimeout.IsRefusal());
        Assert.False(GatewayConnectionEnd.PendingEvicted.IsRefusal());
        Assert.Equal("authentication_timeout", GatewayConnectionEnd.AuthenticationTimeout.ToWireName());
        Assert.Equal("pending_evicted", GatewayConnectionEnd.PendingEvicted.ToWireName());
    }

    [Theory]
    [InlineData("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n", (int)SshIdentificationStatus.Complete)]
    [InlineData("SSH-2.0-Go\n", (int)SshIdentificationStatus.Complete)]
    [InlineData("SSH-1.99-OldButTwo\r\n", (int)SshIdentificationStatus.Complete)]
    [InlineData("SSH-2.0-paramiko_3.4.0\r\n\u0000\u0000\u0004\u0014\u0007\u0014", (int)SshIdentificationStatus.Complete)]
    [InlineData("", (int)SshIdentificationStatus.Incomplete)]
    [InlineData("S", (int)SshIdentificationStatus.Incomplete)]
    [InlineData("SSH-2.0-Half", (int)SshIdentificationStatus.Incomplete)]
    [InlineData("SSH-2.0-Half\r", (int)SshIdentificationStatus.Incomplete)]
    [InlineData("GET /", (int)SshIdentificationStatus.NotSsh)]
    [InlineData("ssh-2.0-lowercase\r\n", (int)SshIdentificationStatus.NotSsh)]
    [InlineData("\r\nSSH-2.0-AfterABlankLine\r\n", (int)SshIdentificationStatus.NotSsh)]
    [InlineData("SSH-2.0-\r\n", (int)SshIdentificationStatus.NotSsh)]
    [InlineData("SSH-2.0- spaced\r\n", (int)SshIdentificationStatus.NotSsh)]
    [InlineData("SSH-2.0\r\n", (int)SshIdentificationStatus.NotSsh)]
    [InlineData("SSH-2.0-Tab\there\r\n", (int)SshIdentificationStatus.NotSsh)]
    [InlineData("SSH-2.0-Caf\u00e9\r\n", (int)SshIdentificationStatus.NotSsh)]
    [InlineData("SSH-1.5-Old\r\n", (int)SshIdentificationStatus.UnsupportedVersion)]
    [InlineData("SSH-3.0-Future\r\n", (int)SshIdentificationStatus.UnsupportedVersion)]
    public void The_client_identification_line_is_checked_as_rfc_4253_says(string received, int expectedStatus)
    {
        var expected = (SshIdentificationStatus)expectedStatus;

        var status = SshIdentificationLine.Check(Encoding.Latin1.GetBytes(received), out var problem);

        Assert.Equal(expected, status);
        Assert.Equal(expected is SshIdentificationStatus.NotSsh or SshIdentificationStatus.UnsupportedVersion, problem is not null);
    }

    [Theory]
    [InlineData(253, "\r\n", (int)SshIdentificationStatus.Complete)]
    [InlineData(254, "\n", (int)SshIdentificationStatus.Complete)]
    [InlineData(254, "\r\n", (int)SshIdentificationStatus.NotSsh)]
    [InlineData(255, "", (int)SshIdentificationStatus.NotSsh)]
    [InlineData(254, "", (int)SshIdentificationStatus.Incomplete)]
    public void The_identification_line_may_be_255_bytes_with_its_line_end_and_no_more(int lineLength, string end, int expectedStatus)
    {
        var expected = (SshIdentificationStatus)expectedStatus;
        var line = "SSH-2.0-" + new string('x', lineLength - "SSH-2.0-".Length) + end;

        Assert.Equal(expected, SshIdentificationLine.Check(Encoding.ASCII.GetBytes(line), out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(100)]
    public void The_disconnect_packet_is_framed_as_rfc_4253_section_6_says(int descriptionLength)
    {
        var description = new string('d', descriptionLength);

        var packet = SshRefusal.DisconnectPacket(SshDisconnectReason.TooManyConnections, description);

        Assert.Equal(0, packet.Length % 8);
        var packetLength = (int)BinaryPrimitives.ReadUInt32BigEndian(packet);
        Assert.Equal(packet.Length - 4, packetLength);
        var padding = packet[4];
        Assert.InRange(padding, 4, 11);
        var payload = packet.AsSpan(5, packetLength - 1 - padding);
        Assert.Equal(1, payload[0]);
        Assert.Equal(12u, BinaryPrimitives.ReadUInt32BigEndian(payload[1..]));
        Assert.Equal((uint)descriptionLength, BinaryPrimitives.ReadUInt32BigEndian(payload[5..]));
        Assert.Equal(description, Encoding.UTF8.GetString(payload.Slice(9, descriptionLength)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(payload[(9 + descriptionLength)..]));
        Assert.Equal(9 + descriptionLength + 4, payload.Length);
    }

    [Fact]
    public void A_refusal_is_a_text_line_the_gateway_identification_and_a_disconnect_packet()
    {
        var refusal = SshRefusal.Build("unknown machine dm-1", SshDisconnectReason.ServiceNotAvailable);

        var text = Encoding.Latin1.GetString(refusal);
        Assert.StartsWith("dedalus-gateway: unknown machine dm-1\r\nSSH-2.0-dedalus-gateway\r\n", text, StringComparison.Ordinal);
        var packet = refusal.AsSpan(Encoding.ASCII.GetByteCount("dedalus-gateway: unknown machine dm-1\r\nSSH-2.0-dedalus-gateway\r\n"));
        Assert.Equal(packet.Length - 4, (int)BinaryPrimitives.ReadUInt32BigEndian(packet));
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32BigEndian(packet[6..]));
        Assert.Contains("dedalus-gateway: unknown machine dm-1", Encoding.UTF8.GetString(packet[14..]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.2", "::ffff:127.0.0.2", true)]
    [InlineData("127.0.0.2", "127.0.0.3", false)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("192.0.2.1", "::c000:201", false)]
    public void Sources_are_ipv4_addresses_and_ipv6_slash_64s(string first, string second, bool same)
    {
        var a = SourceAddress.Of(IPAddress.Parse(first));
        var b = SourceAddress.Of(IPAddress.Parse(second));

        Assert.Equal(same, a == b);
    }

    [Fact]
    public void Sources_read_as_an_address_or_a_prefix()
    {
        Assert.Equal("127.0.0.2", SourceAddress.Of(IPAddress.Parse("::ffff:127.0.0.2")).ToString());
        Assert.Equal("192.0.2.255", SourceAddress.Of(IPAddress.Parse("192.0.2.255")).ToString());
        Assert.Equal("2001:db8:1:2::/64", SourceAddress.Of(IPAddress.Parse("2001:db8:1:2:3:4:5:6")).ToString());
    }

    [Fact]
    public void Invalid_options_are_rejected_when_the_gateway_is_built()
    {
        Assert.Throws<ArgumentException>(() => new GatewayOptions { PortRangeStart = 3000, PortRangeEnd = 2000 }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { MaxConnectionsPerMachine = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { BufferSize = 512 }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { MaxPendingConnections = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { MaxPendingConnectionsPerMachine = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { MaxPendingConnectionsPerSource = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { MaxHandshakesPerMachine = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { MaxHandshakesPerSource = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { IdentificationTimeout = TimeSpan.Zero }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { AuthenticationTimeout = TimeSpan.FromDays(2) }.Validate());
        new GatewayOptions().Validate();
    }
}
