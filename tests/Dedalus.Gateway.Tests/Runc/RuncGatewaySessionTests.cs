using System.Globalization;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// A logged-in session lives in the machine although the sshd that authenticated it runs from the host tree: its
/// terminal is one of the machine's pseudo-terminals, a forwarded agent's socket is in the machine's <c>/tmp</c>, and
/// its files are the machine's.
/// </summary>
public sealed class RuncGatewaySessionTests(RuncGatewayFixture fixture) : IClassFixture<RuncGatewayFixture>
{
    [Fact]
    public async Task A_session_terminal_is_a_pseudo_terminal_of_the_machine_owned_by_its_user()
    {
        var pair = await fixture.MachinePairAsync();
        var identity = fixture.Site.IssueUser(pair.A);

        var result = await fixture.ToolAsync(
            "ssh",
            [.. fixture.Site.ClientOptions(identity), "-tt", "-p", pair.PortA.ToString(CultureInfo.InvariantCulture), "machine@127.0.0.1",
                "t=$(tty); echo \"tty=$t\"; stat -c 'owner=%U' \"$t\"; ls /dev/pts | grep -qx \"${t#/dev/pts/}\" && echo listed; " +
                "ps -o tty= -p $$ | sed 's/^/ctty=/'; echo \"home=$HOME\"; cat /etc/hostname"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("tty=/dev/pts/", StringComparison.Ordinal));
        Assert.Contains("owner=machine", lines);
        Assert.Contains("listed", lines);
        Assert.Contains(lines, l => l.StartsWith("ctty=pts/", StringComparison.Ordinal));
        Assert.Contains("home=/home/machine", lines);
        Assert.Contains(pair.A, lines);
    }

    [Fact]
    public async Task A_forwarded_agent_answers_inside_the_machine()
    {
        var pair = await fixture.MachinePairAsync();
        var identity = fixture.Site.IssueUser(pair.B);
        var socket = fixture.Site.Keys.Combine($"agent-{Guid.NewGuid():N}.sock");
        var agent = fixture.StartClient("ssh-agent", ["-D", "-a", socket]);
        Assert.True(await Eventually.TrueAsync(() => File.Exists(socket), RuncGatewayFixture.Timeout), "ssh-agent did not start");
        var key = fixture.Site.Keys.Combine($"agent-key-{Guid.NewGuid():N}");
        Assert.Equal(0, (await fixture.ToolAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "agent-test-key", "-f", key])).ExitCode);
        var add = await ProcessRunner.RunAsync("ssh-add", [key], timeout: RuncGatewayFixture.Timeout, environment: new Dictionary<string, string> { ["SSH_AUTH_SOCK"] = socket });
        Assert.True(add.ExitCode == 0, add.ToString());

        var result = await ProcessRunner.RunAsync(
            "ssh",
            [.. fixture.Site.ClientOptions(identity), "-A", "-p", pair.PortB.ToString(CultureInfo.InvariantCulture), "machine@127.0.0.1",
                "echo \"sock=$SSH_AUTH_SOCK\"; ssh-add -l"],
            timeout: RuncGatewayFixture.Timeout,
            environment: new Dictionary<string, string> { ["SSH_AUTH_SOCK"] = socket });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("sock=/tmp/ssh-", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("agent-test-key", result.StandardOutput, StringComparison.Ordinal);
        agent.Kill();
    }
}
