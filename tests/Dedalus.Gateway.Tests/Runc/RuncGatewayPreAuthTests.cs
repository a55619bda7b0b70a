using System.Net;
using System.Net.Sockets;
using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// Clients that connect and never authenticate, against real runc machines: nothing starts for a connection until it
/// has sent its identification line (no runc exec on the host, no sshd inside), a silent one is cut after the
/// identification timeout, a flood of them does not keep a user with a valid certificate out, and connections that end
/// any other way leave no process behind either.
/// </summary>
public sealed class RuncGatewayPreAuthTests(RuncGatewayFixture fixture) : IClassFixture<RuncGatewayFixture>
{
    [Fact]
    public async Task A_client_that_never_sends_its_identification_starts_nothing_and_is_cut_after_the_identification_timeout()
    {
        var (id, port) = await fixture.AddMachineAsync();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(RuncGatewayFixture.Timeout);
        Assert.True(await Eventually.TrueAsync(() => fixture.Gateway.GetPendingConnectionCount(id) == 1, RuncGatewayFixture.Timeout));

        Assert.Equal(0, RuncExecsOnHost(id));
        Assert.Equal(0, await SshdInsideAsync(id));
        Assert.Equal(0, fixture.Gateway.GetOpenConnectionCount(id));
        var text = await GatewayHarness.ReadAllTextAsync(client.Client);

        var timeout = RuncGatewayFixture.GatewayOptions.IdentificationTimeout.TotalSeconds;
        Assert.StartsWith($"dedalus-gateway: no SSH identification line within {timeout} s\r\nSSH-2.0-dedalus-gateway\r\n", text, StringComparison.Ordinal);
        var record = await fixture.Backend.WaitForRecordAsync(r => r.MachineId == id);
        Assert.Equal(GatewayConnectionEnd.IdentificationTimeout, record.End);
        Assert.True(await Eventually.TrueAsync(() => fixture.Gateway.GetPendingConnectionCount(id) == 0, RuncGatewayFixture.Timeout));
        Assert.Equal(0, RuncExecsOnHost(id));
    }

    [Fact]
    public async Task A_flood_of_silent_connections_starts_nothing_while_a_user_with_a_valid_certificate_logs_in_and_runs_a_command()
    {
        var (id, _) = await fixture.AddMachineAsync();
        var identity = fixture.Site.IssueUser(id);
        // A gateway of its own: the fixture's options, a counting connector, and silence tolerated for the whole test.
        var connector = new CountingConnector(new InetdSshServerConnector(fixture.Site.Runtime));
        var options = RuncGatewayFixture.GatewayOptions with { IdentificationTimeout = TimeSpan.FromMinutes(10) };
        await using var gateway = new SshGateway(options, connector, fixture.Backend);
        var port = (await gateway.OpenAsync(id, 0).WaitAsync(RuncGatewayFixture.Timeout)).Port;
        var flood = new List<Socket>();
        try
        {
            // 200 silent connections from 127.0.0.2 ... 127.0.0.9, 25 from each.
            for (var i = 0; i < 200; i++)
            {
                var source = new IPAddress([127, 0, 0, (byte)(2 + (i % 8))]);
                flood.Add(await GatewayHarness.ConnectAsync(port, source));
            }

            Assert.True(await Eventually.TrueAsync(() => gateway.GetPendingConnectionCount(id) == 200, RuncGatewayFixture.Timeout), $"pending: {gateway.GetPendingConnectionCount(id)}");

            var login = await fixture.ToolAsync("ssh", fixture.Site.SshArguments(identity, port, "echo", "in-despite-the-flood"));

            Assert.True(login.ExitCode == 0, login.ToString());
            Assert.Equal("in-despite-the-flood", login.StandardOutput.Trim());
            Assert.Equal(1, connector.ConnectCount);
            Assert.Equal(200, gateway.GetPendingConnectionCount(id));
            Assert.True(await Eventually.TrueAsync(() => RuncExecsOnHost(id) == 0, RuncGatewayFixture.Timeout), "a runc exec runs on the host for the flood");
            Assert.Equal(0, await SshdInsideAsync(id));
            Assert.DoesNotContain(fixture.Backend.Records, r => r.MachineId == id && r.End != GatewayConnectionEnd.MachineClosed && r.End != GatewayConnectionEnd.ClientClosed);
        }
        finally
        {
            flood.ForEach(s => s.Dispose());
        }

        Assert.True(await Eventually.TrueAsync(() => gateway.OpenConnectionCount == 0 && gateway.PendingConnectionCount == 0, RuncGatewayFixture.Timeout));
        Assert.Equal(1, connector.ConnectCount);
    }

    [Fact]
    public async Task Many_connections_ending_every_way_leave_no_process_or_connection_behind()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var identity = fixture.Site.IssueUser(id);
        var rounds = Enumerable.Range(0, 8).Select(async i =>
        {
            // A full login, a client that hangs up after sshd's version line, and one that speaks another protocol.
            var login = await fixture.SshAsync(identity, port, "true");
            Assert.True(login.ExitCode == 0, login.ToString());
            using (var quitter = await GatewayHarness.ConnectAndIdentifyAsync(port))
            {
                Assert.StartsWith("SSH-2.0-OpenSSH", await GatewayHarness.ReadLineAsync(quitter), StringComparison.Ordinal);
            }

            using var stranger = new TcpClient();
            await stranger.ConnectAsync(IPAddress.Loopback, port).WaitAsync(RuncGatewayFixture.Timeout);
            var stream = stranger.GetStream();
            await stream.WriteAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray()).AsTask().WaitAsync(RuncGatewayFixture.Timeout);
            var refusal = await GatewayHarness.ReadAllTextAsync(stranger.Client);
            Assert.StartsWith("dedalus-gateway: this port speaks SSH only", refusal, StringComparison.Ordinal);
        });
        await Task.WhenAll(rounds).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.True(await Eventually.TrueAsync(() => fixture.Gateway.GetOpenConnectionCount(id) == 0 && fixture.Gateway.GetPendingConnectionCount(id) == 0, RuncGatewayFixture.Timeout));
        Assert.True(await Eventually.TrueAsync(() => RuncExecsOnHost(id) == 0, RuncGatewayFixture.Timeout), "a runc exec stays on the host");
        Assert.True(await Eventually.TrueAsync(async () => await SshdInsideAsync(id) == 0, RuncGatewayFixture.Timeout), "an sshd stays inside the machine");
        Assert.True(await Eventually.TrueAsync(async () => await ProcessesInsideAsync(id) == 0, RuncGatewayFixture.Timeout), "processes beyond the init stay inside");
        Assert.Equal(8, fixture.Backend.Records.Count(r => r.MachineId == id && r.End == GatewayConnectionEnd.RefusedNotSsh));
    }

    /// <summary>Processes inside other than the init (tini and its one child, the host tree's busybox sleeping); pgrep does not count itself.</summary>
    private Task<int> ProcessesInsideAsync(string machineId) => fixture.Site.CountProcessesAsync(machineId, "-v", "-x", "tini|busybox");

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
