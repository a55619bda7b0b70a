using System.Security.Cryptography;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// The gateway in front of real runc machines: real sshd -i inside (runc exec), the real OpenSSH client with
/// strict host checking against our host CA, certificates and the KRL from Dedalus.OpenSsh.
/// </summary>
public sealed class RuncGatewayTests(RuncGatewayFixture fixture) : IClassFixture<RuncGatewayFixture>
{
    [Fact]
    public async Task Ssh_logs_in_as_machine_on_a_host_named_after_the_machine_and_the_audit_names_the_session()
    {
        var pair = await fixture.MachinePairAsync();
        var identity = fixture.Site.IssueUser(pair.A);

        var result = await fixture.SshAsync(identity, pair.PortA, "id -un; hostname; pwd");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["machine", pair.A, MachineSshd.HomeDirectory], result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var record = await fixture.Backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId);
        Assert.Equal(pair.A, record.MachineId);
        Assert.Equal(identity.Serial, record.Serial);
        Assert.Contains(record.End, new[] { GatewayConnectionEnd.MachineClosed, GatewayConnectionEnd.ClientClosed });
        Assert.True(record.BytesFromClient > 0 && record.BytesToClient > 0);
    }

    [Fact]
    public async Task Scp_uploads_and_downloads_a_file_and_every_copy_has_the_same_sha256()
    {
        var pair = await fixture.MachinePairAsync();
        var identity = fixture.Site.IssueUser(pair.A);
        using var work = new TempDirectory("dedalus-gw-runc-scp-");
        var payload = RandomNumberGenerator.GetBytes(8 * 1024 * 1024);
        var original = work.Combine("payload.bin");
        await File.WriteAllBytesAsync(original, payload);
        var back = work.Combine("back.bin");
        var remote = $"machine@127.0.0.1:{MachineSshd.HomeDirectory}/scp-payload.bin";
        var port = GatewayHarness.Port(pair.PortA);

        var upload = await fixture.ToolAsync("scp", [.. fixture.Site.ClientOptions(identity), "-P", port, original, remote]);
        Assert.True(upload.ExitCode == 0, upload.ToString());
        var inside = await fixture.SshAsync(identity, pair.PortA, "sha256sum ~/scp-payload.bin");
        var download = await fixture.ToolAsync("scp", [.. fixture.Site.ClientOptions(identity), "-P", port, remote, back]);
        Assert.True(download.ExitCode == 0, download.ToString());

        var expected = Convert.ToHexStringLower(SHA256.HashData(payload));
        Assert.True(inside.ExitCode == 0, inside.ToString());
        Assert.StartsWith(expected + " ", inside.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(back))));
        var records = fixture.Backend.Records.Where(r => r.SessionId == identity.SessionId).OrderBy(r => r.ConnectionId).ToArray();
        Assert.True(records.Length >= 2, string.Join("; ", records.AsEnumerable()));
        Assert.InRange(records[0].BytesFromClient, payload.Length, payload.Length * 1.1);
    }

    [Fact]
    public async Task Sftp_runs_a_batch_of_mkdir_put_ls_get_and_rm_in_the_machine_home()
    {
        var pair = await fixture.MachinePairAsync();
        var identity = fixture.Site.IssueUser(pair.A);
        using var work = new TempDirectory("dedalus-gw-runc-sftp-");
        var local = work.WriteFile("note.txt", "sftp into a runc machine\n");
        var fetched = work.Combine("fetched.txt");
        var batch = work.WriteFile("batch", $"mkdir sftp-dir\nput {local} sftp-dir/note.txt\nls -l sftp-dir\nget sftp-dir/note.txt {fetched}\nrm sftp-dir/note.txt\nrmdir sftp-dir\n");

        var result = await fixture.ToolAsync("sftp", [.. fixture.Site.ClientOptions(identity), "-P", GatewayHarness.Port(pair.PortA), "-b", batch, "machine@127.0.0.1"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("machine", result.StandardOutput, StringComparison.Ordinal); // ls -l shows the owner
        Assert.Contains("note.txt", result.StandardOutput, StringComparison.Ordinal);
        Assert.Equal("sftp into a runc machine\n", await File.ReadAllTextAsync(fetched));
        var left = await fixture.SshAsync(identity, pair.PortA, "test -e sftp-dir && echo present || echo gone");
        Assert.Equal("gone", left.StandardOutput.Trim());
    }

    [Fact]
    public async Task Ssh_local_forwarding_reaches_a_listener_that_runs_inside_the_machine()
    {
        var pair = await fixture.MachinePairAsync();
        var identity = fixture.Site.IssueUser(pair.A);
        const int InsidePort = 8089;
        // perl-base is in every machine: a one-connection server that answers in upper case.
        const string Server = "use IO::Socket::INET; $| = 1; " +
            "my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $ARGV[0], Listen => 5, ReuseAddr => 1) or die \"listen: $!\"; " +
            "print \"ready\\n\"; my $c = $s->accept; while (sysread($c, my $b, 4096)) { syswrite($c, uc $b) } close $c;";
        await using var server = await fixture.Site.Runtime.ExecAsync(
            pair.A, new MachineExecRequest(["perl", "-e", Server, InsidePort.ToString(System.Globalization.CultureInfo.InvariantCulture)], MachineSshd.UserName))
            .WaitAsync(RuncGatewayFixture.Timeout);
        using (var ready = new CancellationTokenSource(RuncGatewayFixture.Timeout))
        {
            var line = await new StreamReader(server.StandardOutput).ReadLineAsync(ready.Token);
            Assert.Equal("ready", line);
        }

        var localPort = FreePort.Next();
        var ssh = await fixture.StartSessionAsync(identity, [.. fixture.Site.ClientOptions(identity), "-o", "ExitOnForwardFailure=yes", "-N",
            "-L", $"127.0.0.1:{localPort}:127.0.0.1:{InsidePort}", "-p", GatewayHarness.Port(pair.PortA), "machine@127.0.0.1"]);

        var message = "through the gateway into the machine"u8.ToArray();
        var received = await GatewayHarness.RoundTripThroughForwardAsync(localPort, message);

        Assert.Equal("THROUGH THE GATEWAY INTO THE MACHINE"u8.ToArray(), received);
        Assert.Equal(0, await server.Exited.WaitAsync(RuncGatewayFixture.Timeout));
        ssh.Kill();
        var record = await fixture.Backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId);
        Assert.True(record.BytesFromClient > message.Length);
    }

    [Fact]
    public async Task A_certificate_for_machine_a_is_refused_on_the_port_of_machine_b()
    {
        var pair = await fixture.MachinePairAsync();
        var identityForA = fixture.Site.IssueUser(pair.A);
        var before = fixture.Backend.Records.Count(r => r.MachineId == pair.B);

        var refused = await fixture.SshAsync(identityForA, pair.PortB, "hostname");
        var accepted = await fixture.SshAsync(identityForA, pair.PortA, "hostname");

        SshAssert.LoginRefused(refused);
        Assert.True(accepted.ExitCode == 0, accepted.ToString());
        Assert.Equal(pair.A, accepted.StandardOutput.Trim());
        Assert.True(await Eventually.TrueAsync(() => fixture.Backend.Records.Count(r => r.MachineId == pair.B) > before, RuncGatewayFixture.Timeout));
        var record = fixture.Backend.Records.Where(r => r.MachineId == pair.B).OrderBy(r => r.ConnectionId).Last();
        Assert.Null(record.SessionId);
        Assert.Null(record.Serial);
        Assert.Contains(record.End, new[] { GatewayConnectionEnd.MachineClosed, GatewayConnectionEnd.ClientClosed }); // whoever hangs up first after the refusal
    }

    [Fact]
    public async Task A_revoked_serial_is_refused_while_another_session_for_the_same_machine_still_logs_in()
    {
        var pair = await fixture.MachinePairAsync();
        var revoked = fixture.Site.IssueUser(pair.B);
        var kept = fixture.Site.IssueUser(pair.B);
        Assert.Equal(0, (await fixture.SshAsync(revoked, pair.PortB, "true")).ExitCode);

        await fixture.Site.RevokeAsync(revoked.Serial);

        var refused = await fixture.SshAsync(revoked, pair.PortB, "true");
        SshAssert.LoginRefused(refused);
        var still = await fixture.SshAsync(kept, pair.PortB, "id -un");
        Assert.True(still.ExitCode == 0, still.ToString());
        Assert.Equal("machine", still.StandardOutput.Trim());
    }

    [Fact]
    public async Task Closing_a_session_cuts_its_live_connection_and_the_ssh_client_exits_while_other_sessions_stay()
    {
        var pair = await fixture.MachinePairAsync();
        var identity = fixture.Site.IssueUser(pair.B);
        var other = fixture.Site.IssueUser(pair.B);
        // Both commands outlast every wait of the test: a client that ends was cut.
        var ssh = await fixture.StartSessionAsync(identity, fixture.Site.SshArguments(identity, pair.PortB, "echo started; exec sleep 321"));
        var otherSsh = await fixture.StartSessionAsync(other, fixture.Site.SshArguments(other, pair.PortB, "exec sleep 322"));
        using (var started = new CancellationTokenSource(RuncGatewayFixture.Timeout))
        {
            Assert.Equal("started", await ssh.StandardOutput.ReadLineAsync(started.Token));
        }

        var (cut, exitCode) = await fixture.CloseSessionAsync(identity.SessionId, ssh);

        Assert.Equal(1, cut);
        Assert.Equal(255, exitCode);
        var record = await fixture.Backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId);
        Assert.Equal(GatewayConnectionEnd.SessionClosed, record.End);
        Assert.Equal("session_closed", record.End.ToWireName());
        // The session's processes inside the machine are gone; the other session's are not.
        Assert.True(await Eventually.TrueAsync(async () => await CountInsideAsync(pair.B, "sleep 321") == 0, RuncGatewayFixture.Timeout), "sleep 321 still runs inside the machine");
        Assert.Equal(1, await CountInsideAsync(pair.B, "sleep 322"));
        Assert.Equal(1, fixture.Gateway.GetSessionConnectionCount(other.SessionId));
        Assert.False(otherSsh.HasExited);
        otherSsh.Kill();
    }

    private Task<int> CountInsideAsync(string machineId, string commandLine) => fixture.Site.CountProcessesAsync(machineId, "-f", "-x", commandLine);
}
