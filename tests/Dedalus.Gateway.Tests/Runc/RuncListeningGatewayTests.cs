using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dedalus.Machines.Ssh;
using Xunit.Abstractions;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// The listening path on real runc machines with a network: real ssh with certificates through the real gateway to the
/// machine's one sshd daemon on its address, port 22, attributed by source port; waking on connect; what root inside
/// can do to the daemon; and a daemon an earlier server left behind.
/// </summary>
public sealed class RuncListeningGatewayTests(RuncListeningGatewayFixture fixture, ITestOutputHelper output) : IClassFixture<RuncListeningGatewayFixture>
{
    private const string ListenerTitle = "[listener]";

    [Fact]
    public async Task A_login_goes_through_the_machine_daemon_not_an_exec_per_connection_and_the_audit_names_its_session()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var identity = fixture.Site.IssueUser(id);
        var fallbacks = fixture.Fallback.ConnectCount;

        var result = await fixture.SshAsync(identity, port, "id -un; hostname; ps -eo args=");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["machine", id], lines[..2]);
        Assert.Single(lines, l => l.StartsWith("sshd: /dedalus/sshd -D -e ", StringComparison.Ordinal) && l.Contains(ListenerTitle, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("sshd -i", StringComparison.Ordinal));
        Assert.Equal(fallbacks, fixture.Fallback.ConnectCount);
        var record = await fixture.Backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId);
        Assert.Equal(id, record.MachineId);
        Assert.Equal(identity.Serial, record.Serial);
        Assert.Contains(record.SshdStderrTail, l => l.StartsWith($"Accepted publickey for machine from {fixture.Site.GatewayAddress} port ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Closing_the_session_cuts_its_login_and_its_sshd_inside_ends()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var identity = fixture.Site.IssueUser(id);
        var other = fixture.Site.IssueUser(id);
        var ssh = await fixture.StartSessionAsync(identity, fixture.Site.SshArguments(identity, port, "echo started; exec sleep 331"));
        var otherSsh = await fixture.StartSessionAsync(other, fixture.Site.SshArguments(other, port, "exec sleep 332"));
        using (var started = new CancellationTokenSource(RuncListeningGatewayFixture.Timeout))
        {
            Assert.Equal("started", await ssh.StandardOutput.ReadLineAsync(started.Token));
        }

        var stopwatch = Stopwatch.StartNew();
        var (cut, exitCode) = await fixture.CloseSessionAsync(identity.SessionId, ssh);
        output.WriteLine($"cut by session: the ssh client exited {stopwatch.Elapsed.TotalMilliseconds:F0} ms after the close");

        Assert.Equal(1, cut);
        Assert.Equal(255, exitCode);
        Assert.Equal(GatewayConnectionEnd.SessionClosed, (await fixture.Backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId)).End);
        // The session's sshd processes are gone (its RST ended them); the other session's stay. (The command of a session
        // without a tty, here sleep, is not signalled by sshd and may outlive the cut: see the report of issue 14.)
        Assert.True(
            await Eventually.TrueAsync(async () => await fixture.Site.CountProcessesAsync(id, "-f", "-x", "sshd: machine@notty") == 1, RuncListeningGatewayFixture.Timeout),
            "the cut session's sshd still runs");
        Assert.Equal(1, await fixture.Site.CountProcessesAsync(id, "-f", "-x", "sleep 332"));
        Assert.False(otherSsh.HasExited);
        otherSsh.Kill();
    }

    [Fact]
    public async Task A_sleeping_machine_wakes_on_connect_and_the_login_goes_through_a_new_daemon()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var identity = fixture.Site.IssueUser(id);
        Assert.Equal(0, (await fixture.SshAsync(identity, port, "true")).ExitCode);
        var before = DaemonPidsOnHost(id);
        Assert.Single(before);
        fixture.Gateway.CloseMachineConnections(id);
        await fixture.Site.Runtime.StopAsync(id).WaitAsync(RuncListeningGatewayFixture.Timeout);
        fixture.Backend.Set(id, GatewayAdmission.SleepingWithLiveSession);
        var fallbacks = fixture.Fallback.ConnectCount;

        var result = await fixture.SshAsync(identity, port, "hostname; ps -eo args=");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(id, fixture.Backend.Wakes);
        Assert.Single(result.StandardOutput.Split('\n'), l => l.Contains(ListenerTitle, StringComparison.Ordinal));
        Assert.Equal(fallbacks, fixture.Fallback.ConnectCount);
        var after = DaemonPidsOnHost(id);
        Assert.Single(after);
        Assert.NotEqual(before, after);
        Assert.Equal(id, (await fixture.Backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId && r.ConnectionId > 1 && r.Serial == identity.Serial && r.MachineId == id)).MachineId);
    }

    /// <summary>
    /// Root inside kills the daemon and listens on the machine's port 22 itself, answering with a forged "Accepted" line
    /// naming a victim session. The gateway's next connection is attributed to nothing the attacker chose: it takes the
    /// sshd -i path (the new daemon cannot listen, and the squatter is no daemon of ours to stop), or, had it reached the
    /// squatter, it would have no daemon line at all and be cut at the login deadline.
    /// </summary>
    [Fact]
    public async Task Root_inside_taking_port_22_gets_no_attribution_and_the_login_falls_back_to_sshd_i()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var identity = fixture.Site.IssueUser(id);
        var victim = fixture.Site.IssueUser(id, "sess-victim-" + Guid.NewGuid().ToString("N")[..8]);
        Assert.Equal(0, (await fixture.SshAsync(identity, port, "true")).ExitCode);
        var endPoint = fixture.Site.SshEndPointOf(id)!;
        var forged = $"Accepted publickey for machine from {fixture.Site.GatewayAddress} port 1 ssh2: ED25519-CERT SHA256:x ID {victim.SessionId} (serial {victim.Serial}) CA ED25519 SHA256:y";
        const string Squatter = "use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => $ARGV[0], LocalPort => 22, Listen => 50, ReuseAddr => 1) or die \"listen: $!\"; " +
            "open(my $r, '>', '/tmp/squatter-ready'); close $r; while (my $c = $s->accept) { open(my $l, '>>', '/tmp/squatter-hits'); print $l \"hit\\n\"; close $l; " +
            "print $c \"SSH-2.0-OpenSSH_9.2\\r\\n$ARGV[1]\\n\"; }";

        var (exitCode, _, error) = await fixture.RootInsideAsync(
            id,
            "pkill -f '^sshd: /dedalus/sshd -D' || exit 2; while pgrep -f '^sshd: /dedalus/sshd -D' >/dev/null; do sleep 0.1; done; " +
            $"setsid perl -e '{Squatter.Replace("'", "'\\''", StringComparison.Ordinal)}' {endPoint.Address} '{forged}' </dev/null >/dev/null 2>&1 & " +
            "for i in $(seq 600); do [ -e /tmp/squatter-ready ] && exit 0; sleep 0.1; done; exit 1");
        Assert.True(exitCode == 0, error);
        var fallbacks = fixture.Fallback.ConnectCount;

        var result = await fixture.SshAsync(identity, port, "echo logged-in");

        var record = fixture.Backend.Records.Where(r => r.MachineId == id).MaxBy(r => r.ConnectionId)!;
        output.WriteLine($"login: exit {result.ExitCode}, record {record.SessionId ?? "(none)"} {record.End}, fallbacks {fixture.Fallback.ConnectCount - fallbacks}");
        Assert.DoesNotContain(fixture.Backend.Records, r => r.SessionId == victim.SessionId);
        Assert.True(record.SessionId is null || record.SessionId == identity.SessionId, record.ToString());
        if (result.ExitCode == 0)
        {
            Assert.Equal("logged-in", result.StandardOutput.Trim());
            Assert.Equal(identity.SessionId, record.SessionId);
            Assert.Equal(fallbacks + 1, fixture.Fallback.ConnectCount);
        }

        // The squatter was not taken for a stale daemon of ours: it still listens.
        Assert.Equal(1, await fixture.Site.CountProcessesAsync(id, "-f", "IO::Socket::INET"));
    }

    /// <summary>
    /// Root inside logs in to the machine's daemon from inside, with a valid certificate of another session, from the
    /// very source port number of a gateway connection that waits unauthenticated: its "Accepted" line names the machine's
    /// address, so the waiting connection gets nothing and is cut at the login deadline.
    /// </summary>
    [Fact]
    public async Task Root_inside_logging_in_with_another_sessions_certificate_attributes_nothing_to_a_waiting_gateway_connection()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var warm = fixture.Site.IssueUser(id);
        Assert.Equal(0, (await fixture.SshAsync(warm, port, "true")).ExitCode);
        var victim = fixture.Site.IssueUser(id, "sess-other-" + Guid.NewGuid().ToString("N")[..8]);
        var endPoint = fixture.Site.SshEndPointOf(id)!;
        var gatewayAddress = fixture.Site.GatewayAddress.ToString();

        var (waiting, _) = await GatewayHarness.ConnectPastBannerAsync(port);
        using (waiting)
        {
            // The waiting connection's source port, as the machine sees it.
            var (found, netstat, _) = await fixture.RootInsideAsync(id, "/.dedalus/dedalus/busybox netstat -tn");
            Assert.Equal(0, found);
            var sourcePort = netstat.Split('\n')
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 6 && f[3] == $"{endPoint.Address}:22" && f[4].StartsWith(gatewayAddress + ":", StringComparison.Ordinal) && f[5] == "ESTABLISHED")
                .Select(f => int.Parse(f[4][(gatewayAddress.Length + 1)..], CultureInfo.InvariantCulture))
                .Single();

            var key = Convert.ToBase64String(await File.ReadAllBytesAsync(victim.PrivateKey));
            var certificate = Convert.ToBase64String(await File.ReadAllBytesAsync(victim.Certificate));
            // The attacker checks the host too (the machine's host certificate names 127.0.0.1, hence the alias).
            var knownHosts = Convert.ToBase64String(await File.ReadAllBytesAsync(fixture.Site.KnownHostsFile));
            var (exitCode, stdout, error) = await fixture.RootInsideAsync(
                id,
                $"set -e; umask 077; echo {key} | base64 -d > /root/k; echo {certificate} | base64 -d > /root/k-cert.pub; " +
                $"echo {knownHosts} | base64 -d > /root/known_hosts; " +
                "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/root/known_hosts -o HostKeyAlias=127.0.0.1 -o IdentitiesOnly=yes " +
                $"-i /root/k -o CertificateFile=/root/k-cert.pub -o 'ProxyCommand=/.dedalus/dedalus/busybox nc -p {sourcePort} %h %p' " +
                $"machine@{endPoint.Address} 'echo inside-login'");
            Assert.True(exitCode == 0, error);
            Assert.Equal("inside-login", stdout.Trim());

            var record = await fixture.Backend.WaitForRecordAsync(
                r => r.MachineId == id && r.SessionId is null, RuncListeningGatewayFixture.AuthenticationTimeout + RuncListeningGatewayFixture.Timeout);
            Assert.Equal(GatewayConnectionEnd.AuthenticationTimeout, record.End);
            Assert.DoesNotContain(record.SshdStderrTail, l => l.Contains($"from {endPoint.Address} port", StringComparison.Ordinal));
            Assert.DoesNotContain(fixture.Backend.Records, r => r.SessionId == victim.SessionId);
        }
    }

    /// <summary>
    /// A restarted server: the first connector's daemon stays in the machine without its <c>runc exec</c> (adopted by the
    /// host's reaper), holding port 22. A second connector stops it and logs in through a daemon of its own.
    /// </summary>
    [Fact]
    public async Task A_new_connector_stops_the_daemon_an_earlier_one_left_and_logs_in_through_its_own()
    {
        var (id, port) = await fixture.AddMachineAsync(start: true);
        var endPoint = fixture.Site.SshEndPointOf(id)!;
        var earlier = fixture.NewConnector();
        int stale;
        try
        {
            Assert.True(await earlier.WarmAsync(id));
            // sshd logs that it listens a moment before it sets its listener title, which is what the lookup matches.
            Assert.True(await Eventually.TrueAsync(() => DaemonPidsOnHost(id).Length > 0, RuncListeningGatewayFixture.Timeout), "no listening daemon");
            stale = Assert.Single(DaemonPidsOnHost(id));

            // The earlier server's runc exec goes (as with the server's own cgroup); the daemon is adopted outside the machine.
            var runc = ParentOf(stale);
            Assert.True(runc > 1 && File.ReadAllText($"/proc/{runc}/comm").StartsWith("runc", StringComparison.Ordinal), $"parent {runc}");
            Assert.Equal(0, (await ProcessRunner.RunAsync("kill", "-KILL", runc.ToString(CultureInfo.InvariantCulture))).ExitCode);
            Assert.True(await Eventually.TrueAsync(() => ParentOf(stale) != runc, RuncListeningGatewayFixture.Timeout), "the daemon kept its parent");
            output.WriteLine($"the daemon's parent after its runc exec went: {ParentOf(stale)} ({File.ReadAllText($"/proc/{ParentOf(stale)}/comm").Trim()})");
            Assert.Equal([stale], StaleSshDaemons.Find(id, endPoint));

            // The fixture's connector has no daemon in this machine yet: as after a restart, the next login starts one.
            var identity = fixture.Site.IssueUser(id);
            var fallbacks = fixture.Fallback.ConnectCount;
            var result = await fixture.SshAsync(identity, port, "ps -eo args=");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal(fallbacks, fixture.Fallback.ConnectCount);
            var record = await fixture.Backend.WaitForRecordAsync(r => r.SessionId == identity.SessionId);
            Assert.Contains(record.SshdStderrTail, l => l.StartsWith($"Accepted publickey for machine from {fixture.Site.GatewayAddress} port ", StringComparison.Ordinal));
            Assert.Single(result.StandardOutput.Split('\n'), l => l.Contains(ListenerTitle, StringComparison.Ordinal));
            var now = Assert.Single(DaemonPidsOnHost(id));
            Assert.NotEqual(stale, now);
            Assert.False(Directory.Exists($"/proc/{stale}") && !File.ReadAllText($"/proc/{stale}/stat").Contains(") Z ", StringComparison.Ordinal), "the stale daemon still runs");
        }
        finally
        {
            await earlier.DisposeAsync();
        }
    }

    /// <summary>Host pids of the listening daemons of the machine (their listener title names its address).</summary>
    private int[] DaemonPidsOnHost(string machineId)
    {
        var listen = $"-o ListenAddress={fixture.Site.SshEndPointOf(machineId)} ";
        var pids = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var commandLine = Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(directory, "cmdline")));
                if (commandLine.StartsWith("sshd: /dedalus/sshd -D", StringComparison.Ordinal) && commandLine.Contains(listen, StringComparison.Ordinal)
                    && commandLine.Contains(ListenerTitle, StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return [.. pids];
    }

    private static int ParentOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
