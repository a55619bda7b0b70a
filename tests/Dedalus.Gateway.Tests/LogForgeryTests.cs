using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway.Tests;

/// <summary>
/// Issue #14: a client makes sshd log a whole "Accepted publickey ... ID victim" line of its choosing (a KEXINIT name
/// holding CR LF, logged unescaped in "Their offer: ..."). sshd's stderr is a pipe in packet mode read as records, so
/// that line arrives inside a record with a line break and names no session, on the inetd path and on the listening
/// path alike. The gateway refuses such a KEXINIT before sshd sees it; the tests of the records turn that check off.
/// </summary>
public sealed class LogForgeryTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string Machine = "dm-14141414-1414-4141-8141-141414141414";

    private static readonly GatewayOptions WithoutKexInitCheck = new() { CheckKexInit = false };

    [Fact]
    public async Task A_kexinit_name_with_a_line_break_is_refused_before_sshd_sees_it_with_a_disconnect_naming_the_problem()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        var forged = LogForgery.AcceptedLine(fixture.Site.LoginUser, "UNKNOWN", 65535, "sess-victim-refused", 9);

        var reply = await LogForgery.SendAsync(port, () => Task.FromResult(LogForgery.KexNames(forged)));

        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.ProtocolViolation, record.End);
        Assert.Equal("protocol_violation", record.End.ToWireName());
        Assert.Null(record.SessionId);
        Assert.Equal("the KEXINIT name-list kex_algorithms holds byte 0x0d at offset 18: names are printable US-ASCII only (RFC 4251 section 5)", record.Detail);
        Assert.Contains("dedalus-gateway: " + record.Detail, reply, StringComparison.Ordinal);
        Assert.DoesNotContain(record.SshdStderrTail, line => line.Contains("sess-victim-refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_kexinit_name_with_a_line_break_is_refused_on_the_listening_path_too()
    {
        await using var harness = new ListeningGatewayHarness(fixture.Site);
        var (port, _) = await harness.AddMachineAsync(Machine);

        await LogForgery.SendAsync(port, () => Task.FromResult("curve25519-sha256\nx"));

        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal(GatewayConnectionEnd.ProtocolViolation, record.End);
        Assert.Contains("kex_algorithms holds byte 0x0a", record.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Past_the_kexinit_check_a_login_line_forged_through_sshd_log_on_the_inetd_path_attributes_nothing()
    {
        await using var harness = new GatewayHarness(fixture.Site, WithoutKexInitCheck);
        var port = await harness.AddMachineAsync(Machine);
        var forged = LogForgery.AcceptedLine(fixture.Site.LoginUser, "UNKNOWN", 65535, "sess-victim-inetd", 9);

        await LogForgery.SendAsync(port, () => Task.FromResult(LogForgery.KexNames(forged)));

        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Null(record.SessionId);
        Assert.Null(record.Serial);
        // sshd did log the forged line, as a line of its own: only the record it came in tells it apart.
        Assert.Contains(SshdLogRecord.UnattributableMark + forged, record.SshdStderrTail);
    }

    [Fact]
    public async Task Past_the_kexinit_check_a_login_line_forged_through_the_daemon_log_on_the_listening_path_attributes_nothing()
    {
        await using var harness = new ListeningGatewayHarness(fixture.Site, WithoutKexInitCheck);
        var (port, sshEndPoint) = await harness.AddMachineAsync(Machine);
        Assert.True(await harness.Connector.WarmAsync(Machine));
        string? forged = null;

        // The forged line names the forger's own connection (its source port at the daemon): routed by that port it
        // would have logged the forger in as the victim.
        await LogForgery.SendAsync(port, async () =>
        {
            var sourcePort = await LogForgery.SourcePortToAsync(sshEndPoint);
            forged = LogForgery.AcceptedLine(fixture.Site.LoginUser, "127.0.0.1", sourcePort, "sess-victim-listening", 9);
            return LogForgery.KexNames(forged);
        });

        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Null(record.SessionId);
        Assert.Null(record.Serial);
        Assert.Contains(SshdLogRecord.UnattributableMark + forged, record.SshdStderrTail);
        Assert.Equal(0, harness.Fallback.ConnectCount);
    }
}
