namespace Dedalus.Gateway.Tests;

/// <summary>Pure pieces: sshd log parsing, audit names, option validation.</summary>
public sealed class UnitTests
{
    [Theory]
    [InlineData("Accepted publickey for root from UNKNOWN port 65535 ssh2: ED25519-CERT SHA256:abc/def ID sess-1 (serial 42) CA ED25519 SHA256:xyz", "sess-1", 42UL)]
    [InlineData("sshd[12]: Accepted publickey for machine from 192.0.2.10 port 5000 ssh2: ECDSA-CERT SHA256:q ID ses_01J (serial) x (serial 18446744073709551615) CA RSA SHA256:z\r", "ses_01J (serial) x", 18446744073709551615UL)]
    public void The_accepted_line_yields_the_session_id_and_serial(string line, string sessionId, ulong serial)
    {
        Assert.True(SshdAcceptedLine.TryParse(line.TrimEnd('\r'), out var parsedSession, out var parsedSerial));
        Assert.Equal(sessionId, parsedSession);
        Assert.Equal(serial, parsedSerial);
    }

    [Theory]
    [InlineData("Accepted publickey for root from 198.51.100.4 port 1 ssh2: ED25519 SHA256:plainkey")]
    [InlineData("Failed publickey for root from 198.51.100.4 port 1 ssh2: ED25519-CERT SHA256:x ID s (serial 1) CA ED25519 SHA256:y")]
    [InlineData("Accepted publickey for root ID s (serial -1) CA x")]
    public void Lines_without_an_accepted_certificate_yield_nothing(string line)
    {
        Assert.False(SshdAcceptedLine.TryParse(line, out _, out _));
    }

    [Fact]
    public void Every_connection_end_has_a_distinct_snake_case_wire_name()
    {
        var names = Enum.GetValues<GatewayConnectionEnd>().Select(e => e.ToWireName()).ToList();

        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[a-z]+(_[a-z]+)*$", n));
        Assert.Equal("session_closed", GatewayConnectionEnd.SessionClosed.ToWireName());
        Assert.True(GatewayConnectionEnd.RefusedGatewayLimit.IsRefusal());
        Assert.False(GatewayConnectionEnd.Error.IsRefusal());
    }

    [Fact]
    public void Invalid_options_are_rejected_when_the_gateway_is_built()
    {
        Assert.Throws<ArgumentException>(() => new GatewayOptions { PortRangeStart = 3000, PortRangeEnd = 2000 }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { MaxConnectionsPerMachine = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new GatewayOptions { BufferSize = 512 }.Validate());
    }
}
