using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// Clients that connect and never authenticate: the gateway starts sshd -i at once (a runc exec on the host, an sshd
/// inside) and has no timer of its own; sshd's LoginGraceTime must end such a connection soon, and with it everything
/// the connection held. Each one also holds one of the machine's connection slots. And connections that end any
/// other way leave no process behind either.
/// </summary>
public sealed class RuncGatewayPreAuthTests(RuncGatewayFixture fixture) : IClassFixture<RuncGatewayFixture>
{
    private static readonly TimeSpan SshdDefaultLoginGraceTime = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_client_that_never_sends_its_version_is_closed_within_the_login_grace_time_and_leaves_nothing_behind()
    {
        var (id, port) = await fixture.AddMachineAsync();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(RuncGatewayFixture.Timeout);
        var stream = client.GetStream();
        var buffer = new byte[512];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(RuncGatewayFixture.Timeout);
        var stopwatch = Stopwatch.StartNew(); // sshd started its LoginGraceTime timer before it sent this banner
        Assert.StartsWith("SSH-2.0-", Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
        Assert.Equal(1, fixture.Gateway.GetOpenConnectionCount(id));
        Assert.True(await SshdInsideAsync(id) > 0, "sshd -i runs inside while the client is connected");
        Assert.True(RuncExecsOnHost(id) > 0, "runc exec runs on the host while the client is connected");

        // Send nothing. Before LoginGraceTime 30 this waited sshd's default 120 s; the read gives up at 100 s.
        using (var silence = new CancellationTokenSource(SshdDefaultLoginGraceTime - TimeSpan.FromSeconds(20)))
        {
            while (await stream.ReadAsync(buffer, silence.Token) > 0)
            {
            }
        }

        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(20), SshdDefaultLoginGraceTime - TimeSpan.FromSeconds(20));
        Assert.True(await Eventually.TrueAsync(() => fixture.Gateway.GetOpenConnectionCount(id) == 0, RuncGatewayFixture.Timeout));
        Assert.True(await Eventually.TrueAsync(async () => await SshdInsideAsync(id) == 0, RuncGatewayFixture.Timeout), "an sshd stays inside the machine");
        Assert.True(await Eventually.TrueAsync(() => RuncExecsOnHost(id) == 0, RuncGatewayFixture.Timeout), "a runc exec stays on the host");
    }

    [Fact]
    public async Task Many_connections_ending_every_way_leave_no_process_or_connection_behind()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var identity = fixture.Site.IssueUser(id);
        var rounds = Enumerable.Range(0, 8).Select(async i =>
        {
            // A full login, a client that hangs up after the banner, and one that speaks another protocol.
            var login = await fixture.SshAsync(identity, port, "true");
            Assert.True(login.ExitCode == 0, login.ToString());
            using (var quitter = new TcpClient())
            {
                await quitter.ConnectAsync(IPAddress.Loopback, port).WaitAsync(RuncGatewayFixture.Timeout);
                _ = await quitter.GetStream().ReadAsync(new byte[64]).AsTask().WaitAsync(RuncGatewayFixture.Timeout);
            }

            using var stranger = new TcpClient();
            await stranger.ConnectAsync(IPAddress.Loopback, port).WaitAsync(RuncGatewayFixture.Timeout);
            var stream = stranger.GetStream();
            await stream.WriteAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray()).AsTask().WaitAsync(RuncGatewayFixture.Timeout);
            using var cts = new CancellationTokenSource(RuncGatewayFixture.Timeout);
            var buffer = new byte[512];
            while (await stream.ReadAsync(buffer, cts.Token) > 0)
            {
            }
        });
        await Task.WhenAll(rounds).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.True(await Eventually.TrueAsync(() => fixture.Gateway.GetOpenConnectionCount(id) == 0, RuncGatewayFixture.Timeout));
        Assert.True(await Eventually.TrueAsync(() => RuncExecsOnHost(id) == 0, RuncGatewayFixture.Timeout), "a runc exec stays on the host");
        Assert.True(await Eventually.TrueAsync(async () => await SshdInsideAsync(id) == 0, RuncGatewayFixture.Timeout), "an sshd stays inside the machine");
        Assert.True(await Eventually.TrueAsync(async () => await ProcessesInsideAsync(id) == 0, RuncGatewayFixture.Timeout), "processes beyond tini and sleep stay inside");
    }

    /// <summary>Processes inside other than the init (tini, sleep infinity); pgrep does not count itself.</summary>
    private Task<int> ProcessesInsideAsync(string machineId) => fixture.Site.CountProcessesAsync(machineId, "-v", "-x", "tini|sleep");

    private Task<int> SshdInsideAsync(string machineId) => fixture.Site.CountProcessesAsync(machineId, "-x", "sshd");

    /// <summary>Host processes "runc ... exec --process ... &lt;machine id&gt;" (the gateway's sshd connections; our pgrep exec has ended).</summary>
    private static int RuncExecsOnHost(string machineId)
    {
        var count = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var argv = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (argv.Length > 2 && Path.GetFileName(argv[0]) == "runc" && argv.Contains("exec") && argv[^1] == machineId)
                {
                    count++;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return count;
    }
}
