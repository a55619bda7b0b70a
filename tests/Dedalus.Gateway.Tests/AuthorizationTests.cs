namespace Dedalus.Gateway.Tests;

/// <summary>sshd decides who logs in (principal, KRL); the gateway cuts a closed session's connections.</summary>
public sealed class AuthorizationTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string MachineA = "dm-aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
    private const string MachineB = "dm-bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

    [Fact]
    public async Task A_certificate_for_machine_a_is_refused_on_machine_b_port()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var portA = await harness.AddMachineAsync(MachineA);
        var portB = await harness.AddMachineAsync(MachineB);
        var identity = await fixture.Site.IssueAsync("sess-principal-1", MachineA, 201);

        var onB = await harness.SshAsync(identity, portB, "true");
        var onA = await harness.SshAsync(identity, portA, "true");

        var refused = await AssertRefusedAsync(harness, onB, MachineB);
        Assert.True(onA.ExitCode == 0, onA.ToString());
        Assert.Null(refused.Serial);
        Assert.Contains(refused.SshdStderrTail, line => line.Contains("principal", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_certificate_with_a_revoked_serial_is_refused()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(MachineA);
        var identity = await fixture.Site.IssueAsync("sess-revoked-1", MachineA, SshTestSite.RevokedSerial);

        var result = await harness.SshAsync(identity, port, "true");

        var record = await AssertRefusedAsync(harness, result, MachineA);
        Assert.Contains(record.SshdStderrTail, line => line.Contains("revoked", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Closing_a_session_cuts_its_live_connection_and_the_audit_says_session_closed()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(MachineA);
        var identity = await fixture.Site.IssueAsync("sess-cut-1", MachineA, 202);
        var other = await fixture.Site.IssueAsync("sess-keep-1", MachineA, 203);
        // Both commands outlast every wait of the test: a client that ends was cut.
        var ssh = await harness.StartSessionAsync(identity, fixture.Site.SshArguments(identity, port, "sleep", "600"));
        var kept = await harness.StartSessionAsync(other, fixture.Site.SshArguments(other, port, "sleep", "600"));

        var (cut, exitCode) = await harness.CloseSessionAsync("sess-cut-1", ssh);

        Assert.Equal(1, cut);
        Assert.Equal(255, exitCode);
        var record = await harness.Backend.WaitForRecordAsync(r => r.SessionId == "sess-cut-1");
        Assert.Equal(GatewayConnectionEnd.SessionClosed, record.End);
        Assert.Equal(0, harness.Gateway.GetSessionConnectionCount("sess-cut-1"));
        Assert.False(kept.HasExited);
        Assert.Equal(1, harness.Gateway.GetSessionConnectionCount("sess-keep-1"));
        Assert.Equal(1, harness.Gateway.GetOpenConnectionCount(MachineA));
    }

    [Fact]
    public async Task A_login_of_a_session_closed_moments_before_is_cut_as_soon_as_sshd_accepts_it()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(MachineA);
        var identity = await fixture.Site.IssueAsync("sess-late-1", MachineA, 204);
        Assert.Equal(0, await harness.Gateway.CloseSessionConnectionsAsync("sess-late-1").WaitAsync(GatewayHarness.Timeout));

        var result = await harness.SshAsync(identity, port, "sleep", "30");

        Assert.Equal(255, result.ExitCode);
        var record = await harness.Backend.WaitForRecordAsync(r => r.SessionId == "sess-late-1");
        Assert.Equal(GatewayConnectionEnd.SessionClosed, record.End);
    }

    /// <summary>sshd refused the login, and the audit record of the refused connection names no session.</summary>
    private static async Task<GatewayConnectionRecord> AssertRefusedAsync(GatewayHarness harness, ProcessResult result, string machineId)
    {
        SshAssert.LoginRefused(result);
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == machineId);
        Assert.Null(record.SessionId);
        return record;
    }
}
