using System.Globalization;
using System.Net.Sockets;

namespace Dedalus.Gateway.Tests;

/// <summary>
/// The listening path: real ssh through the real gateway to one real <c>sshd -D -e</c> per machine, reached over TCP
/// from the gateway address (127.0.0.1) at the machine's address (127.0.0.2), its log demultiplexed by source port.
/// </summary>
public sealed class ListeningSshdThroughGatewayTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string Machine = "dm-22222222-2222-4222-8222-222222222222";

    [Fact]
    public async Task Logins_go_through_one_daemon_and_each_audit_record_names_its_own_session()
    {
        await using var harness = new ListeningGatewayHarness(fixture.Site);
        var (port, _) = await harness.AddMachineAsync(Machine);
        Assert.True(await harness.Connector.WarmAsync(Machine));
        var first = await fixture.Site.IssueAsync("sess-listen-1", Machine, 201);
        var second = await fixture.Site.IssueAsync("sess-listen-2", Machine, 202);

        var results = await Task.WhenAll(harness.SshAsync(first, port, "echo", "one"), harness.SshAsync(second, port, "echo", "two"));

        Assert.True(results[0].ExitCode == 0, results[0].ToString());
        Assert.True(results[1].ExitCode == 0, results[1].ToString());
        Assert.Equal("one", results[0].StandardOutput.Trim());
        var one = await harness.Backend.WaitForRecordAsync(r => r.SessionId == "sess-listen-1");
        var two = await harness.Backend.WaitForRecordAsync(r => r.SessionId == "sess-listen-2");
        Assert.Equal((201UL, 202UL), (one.Serial!.Value, two.Serial!.Value));
        Assert.Contains(one.SshdStderrTail, line => line.StartsWith("Accepted publickey for", StringComparison.Ordinal));
        Assert.Equal(1, harness.Runtime.DaemonStarts);
        Assert.Equal(0, harness.Fallback.ConnectCount);
    }

    [Fact]
    public async Task A_cut_session_loses_its_login_and_a_killed_daemon_is_replaced_at_the_next_connection()
    {
        await using var harness = new ListeningGatewayHarness(fixture.Site);
        var (port, _) = await harness.AddMachineAsync(Machine);
        var identity = await fixture.Site.IssueAsync("sess-listen-cut", Machine, 203);
        var held = await harness.StartSessionAsync(identity, fixture.Site.SshArguments(identity, port, "sleep", "600"));

        var (cut, exitCode) = await harness.CloseSessionAsync(identity.SessionId, held);

        Assert.Equal(1, cut);
        Assert.NotEqual(0, exitCode);
        harness.Runtime.Daemons[0].Kill();
        await harness.Runtime.Daemons[0].Exited.WaitAsync(GatewayHarness.Timeout);
        var again = await fixture.Site.IssueAsync("sess-listen-again", Machine, 204);
        var result = await harness.SshAsync(again, port, "true");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, harness.Runtime.DaemonStarts);
        Assert.Equal("sess-listen-again", (await harness.Backend.WaitForRecordAsync(r => r.SessionId == "sess-listen-again")).SessionId);
    }

    /// <summary>Root inside holds the port (here: a listener of the test's own): no daemon listens, the connection takes the inetd path.</summary>
    [Fact]
    public async Task When_something_else_holds_the_port_the_connection_falls_back_to_sshd_i_and_still_logs_in()
    {
        await using var harness = new ListeningGatewayHarness(fixture.Site);
        var (port, sshEndPoint) = await harness.AddMachineAsync(Machine);
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(sshEndPoint);
        squatter.Listen();
        var identity = await fixture.Site.IssueAsync("sess-listen-fallback", Machine, 205);

        var result = await harness.SshAsync(identity, port, "true");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(1, harness.Fallback.ConnectCount);
        Assert.Equal("sess-listen-fallback", (await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine)).SessionId);
    }

    /// <summary>
    /// A login made to the daemon from another source (as from inside the machine) with a valid certificate is logged
    /// with that source: it attributes nothing to the gateway connection that waits at the same time, which is cut at
    /// its login deadline unauthenticated.
    /// </summary>
    [Fact]
    public async Task A_login_from_another_source_does_not_attribute_a_waiting_gateway_connection()
    {
        var options = new GatewayOptions { AuthenticationTimeout = TimeSpan.FromSeconds(5) };
        await using var harness = new ListeningGatewayHarness(fixture.Site, options);
        var (port, sshEndPoint) = await harness.AddMachineAsync(Machine);
        var (waiting, _) = await GatewayHarness.ConnectPastBannerAsync(port);
        using (waiting)
        {
            var insider = await fixture.Site.IssueAsync("sess-listen-insider", Machine, 206);
            var inside = await harness.ToolAsync("ssh",
            [
                .. fixture.Site.ClientOptions(insider), "-b", "127.0.0.3", "-o", "HostKeyAlias=127.0.0.1",
                "-p", sshEndPoint.Port.ToString(CultureInfo.InvariantCulture), $"{fixture.Site.LoginUser}@{sshEndPoint.Address}", "true",
            ]);
            Assert.True(inside.ExitCode == 0, inside.ToString());

            var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
            Assert.Equal(GatewayConnectionEnd.AuthenticationTimeout, record.End);
            Assert.Null(record.SessionId);
            Assert.DoesNotContain(record.SshdStderrTail, line => line.Contains("127.0.0.3", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("Accepted publickey for root from 127.0.0.1 port 40001 ssh2: ED25519-CERT SHA256:k ID s (serial 1) CA ED25519 SHA256:c", 40001)]
    [InlineData("Accepted publickey for root from 127.0.0.3 port 40001 ssh2: ED25519-CERT SHA256:k ID s (serial 1) CA ED25519 SHA256:c", -1)]
    [InlineData("Connection from 127.0.0.1 port 40002 on 127.0.0.2 port 22 rdomain \"\"", 40002)]
    [InlineData("Connection closed by authenticating user root 127.0.0.1 port 40003 [preauth]", 40003)]
    [InlineData("Connection from 127.0.0.3 port 40002 on 127.0.0.2 port 22 rdomain \"\"", -1)]
    [InlineData("Invalid user x from 127.0.0.3 port 40005", -1)]
    [InlineData("Server listening on 127.0.0.2 port 22.", -1)]
    public async Task Daemon_lines_go_to_the_connection_whose_source_port_they_name(string line, int port)
    {
        await using var harness = new ListeningGatewayHarness(fixture.Site);

        Assert.Equal(port, harness.Connector.PortOf(line));
    }
}
