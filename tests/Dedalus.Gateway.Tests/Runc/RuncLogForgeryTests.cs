using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// Issue #14 on a real runc machine, inetd path: sshd -i inside (runc exec, its stderr a pipe in packet mode through
/// runc) logs a KEXINIT name that holds a whole "Accepted publickey ... ID victim" line; read as records, that line
/// names no session. The client speaks to sshd directly (the gateway would refuse that KEXINIT before sshd saw it),
/// and a normal login through the gateway still names its session.
/// </summary>
public sealed class RuncLogForgeryTests(RuncGatewayFixture fixture) : IClassFixture<RuncGatewayFixture>
{
    [Fact]
    public async Task A_login_line_forged_in_the_log_of_sshd_in_a_machine_names_no_session_and_a_real_login_still_does()
    {
        var pair = await fixture.MachinePairAsync();
        var forged = LogForgery.AcceptedLine(MachineSshd.UserName, "UNKNOWN", 65535, "sess-victim-runc", 9);
        var connector = new InetdSshServerConnector(fixture.Site.Runtime);

        await using (var sshd = await connector.ConnectAsync(pair.A).WaitAsync(RuncGatewayFixture.Timeout))
        {
            using var timeout = new CancellationTokenSource(RuncGatewayFixture.Timeout);
            await sshd.StandardInput.WriteAsync("SSH-2.0-forger\r\n"u8.ToArray(), timeout.Token);
            await sshd.StandardInput.WriteAsync(LogForgery.KexInitPacket(LogForgery.KexNames(forged)), timeout.Token);
            await sshd.StandardInput.FlushAsync(timeout.Token);
            var drain = sshd.StandardOutput.CopyToAsync(Stream.Null, timeout.Token);

            var reader = new SshdLogReader(sshd.StandardError);
            var records = new List<SshdLogRecord>();
            while (await reader.ReadAsync(timeout.Token) is { } record)
            {
                records.Add(record);
            }

            await drain;
            var carrier = Assert.Single(records, r => r.Lines.Contains(forged));
            Assert.False(carrier.Attributable, string.Join(" | ", carrier.Lines));
            Assert.StartsWith("Unable to negotiate with UNKNOWN port 65535", carrier.Lines[0], StringComparison.Ordinal);
            Assert.DoesNotContain(records, r => r.TryParseAccepted(out _));
        }

        var identity = fixture.Site.IssueUser(pair.A);
        var result = await fixture.SshAsync(identity, pair.PortA, "true");
        Assert.True(result.ExitCode == 0, result.ToString());
        var login = await fixture.Backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId);
        Assert.Equal(identity.Serial, login.Serial);
        Assert.Contains(login.SshdStderrTail, line => line.StartsWith("Accepted publickey for machine ", StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Backend.Records, r => r.SessionId == "sess-victim-runc");
    }
}
