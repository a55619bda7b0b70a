using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Dedalus.Gateway.Tests;

/// <summary>Real ssh, scp, sftp and port forwarding through the gateway to a real sshd -i.</summary>
public sealed class OpenSshThroughGatewayTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string Machine = "dm-11111111-1111-4111-8111-111111111111";

    [Fact]
    public async Task Ssh_runs_a_command_and_the_audit_names_the_session_from_the_accepted_line()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        var identity = await fixture.Site.IssueAsync("sess-command-1", Machine, 101);

        var result = await harness.SshAsync(identity, port, "echo", "hello-from-the-machine");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hello-from-the-machine", result.StandardOutput.Trim());
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        Assert.Equal("sess-command-1", record.SessionId);
        Assert.Equal(101UL, record.Serial);
        // At logout the client and sshd close at nearly the same moment: either side may be first.
        Assert.Contains(record.End, new[] { GatewayConnectionEnd.MachineClosed, GatewayConnectionEnd.ClientClosed });
        Assert.Null(record.Detail);
        Assert.StartsWith("127.0.0.1:", record.PeerAddress, StringComparison.Ordinal);
        Assert.True(record.BytesFromClient > 1000 && record.BytesToClient > 1000, $"{record.BytesFromClient} / {record.BytesToClient}");
        Assert.True(record.EndedAt >= record.StartedAt);
        Assert.Contains(record.SshdStderrTail, line => line.Contains("Accepted publickey", StringComparison.Ordinal));
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.GetOpenConnectionCount(Machine) == 0));
        Assert.True(await Eventually.TrueAsync(() => harness.Sshd.LiveProcessCount == 0));
    }

    [Fact]
    public async Task Scp_uploads_and_downloads_a_file_with_the_same_sha256_and_the_audit_counts_its_bytes()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        var identity = await fixture.Site.IssueAsync("sess-scp-1", Machine, 102);
        using var work = new TempDirectory();
        var original = work.Combine("payload.bin");
        var payload = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        await File.WriteAllBytesAsync(original, payload);
        var remote = $"/tmp/dedalus-gw-scp-{Guid.NewGuid():N}.bin";
        var back = work.Combine("back.bin");
        try
        {
            var upload = await harness.ToolAsync("scp", [.. fixture.Site.ClientOptions(identity), "-P", GatewayHarness.Port(port), original, $"root@127.0.0.1:{remote}"]);
            Assert.True(upload.ExitCode == 0, upload.ToString());
            var download = await harness.ToolAsync("scp", [.. fixture.Site.ClientOptions(identity), "-P", GatewayHarness.Port(port), $"root@127.0.0.1:{remote}", back]);
            Assert.True(download.ExitCode == 0, download.ToString());

            Assert.Equal(SHA256.HashData(payload), SHA256.HashData(await File.ReadAllBytesAsync(back)));
            Assert.Equal(SHA256.HashData(payload), SHA256.HashData(await File.ReadAllBytesAsync(remote)));
            var records = await WaitForRecordsAsync(harness, 2);
            var up = records[0];
            var down = records[1];
            Assert.All(records, r => Assert.Equal("sess-scp-1", r.SessionId));
            Assert.InRange(up.BytesFromClient, payload.Length, payload.Length * 1.1);
            Assert.InRange(down.BytesToClient, payload.Length, payload.Length * 1.1);
            Assert.True(up.BytesToClient < payload.Length / 10);
            Assert.True(down.BytesFromClient < payload.Length / 10);
        }
        finally
        {
            File.Delete(remote);
        }
    }

    [Fact]
    public async Task Sftp_runs_a_batch_of_put_ls_and_get()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        var identity = await fixture.Site.IssueAsync("sess-sftp-1", Machine, 103);
        using var work = new TempDirectory();
        var local = work.WriteFile("note.txt", "sftp through the gateway\n");
        var remoteDir = $"/tmp/dedalus-gw-sftp-{Guid.NewGuid():N}";
        var fetched = work.Combine("fetched.txt");
        var batch = work.WriteFile("batch", $"mkdir {remoteDir}\nput {local} {remoteDir}/note.txt\nls {remoteDir}\nget {remoteDir}/note.txt {fetched}\nrm {remoteDir}/note.txt\nrmdir {remoteDir}\n");

        var result = await harness.ToolAsync("sftp", [.. fixture.Site.ClientOptions(identity), "-P", GatewayHarness.Port(port), "-b", batch, "root@127.0.0.1"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("note.txt", result.StandardOutput, StringComparison.Ordinal);
        Assert.Equal("sftp through the gateway\n", await File.ReadAllTextAsync(fetched));
        var record = await harness.Backend.WaitForRecordAsync(r => r.SessionId == "sess-sftp-1");
        Assert.Equal(103UL, record.Serial);
    }

    [Fact]
    public async Task Ssh_local_port_forwarding_reaches_a_tcp_echo_server_behind_the_machine()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        var identity = await fixture.Site.IssueAsync("sess-forward-1", Machine, 104);
        using var echo = new TcpListener(IPAddress.Loopback, 0);
        echo.Start();
        var echoPort = ((IPEndPoint)echo.LocalEndpoint).Port;
        using var echoStop = new CancellationTokenSource(GatewayHarness.Timeout);
        var echoTask = EchoOnceAsync(echo, echoStop.Token);
        var localPort = FreePort.Next();
        var ssh = await harness.StartSessionAsync(identity, [.. fixture.Site.ClientOptions(identity), "-o", "ExitOnForwardFailure=yes", "-N", "-L", $"127.0.0.1:{localPort}:127.0.0.1:{echoPort}", "-p", GatewayHarness.Port(port), "root@127.0.0.1"]);

        var message = "through the tunnel and back"u8.ToArray();
        var received = await GatewayHarness.RoundTripThroughForwardAsync(localPort, message);

        Assert.Equal(message, received);
        await echoTask.WaitAsync(GatewayHarness.Timeout);
        ssh.Kill();
        var record = await harness.Backend.WaitForRecordAsync(r => r.SessionId == "sess-forward-1");
        Assert.True(record.BytesFromClient > message.Length);
    }

    [Fact]
    public async Task Ssh_cat_with_stdin_from_a_file_echoes_it_and_ends_cleanly()
    {
        await using var harness = new GatewayHarness(fixture.Site);
        var port = await harness.AddMachineAsync(Machine);
        var identity = await fixture.Site.IssueAsync("sess-cat-1", Machine, 105);
        var input = string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i}\n"));

        var result = await ProcessRunner.RunAsync("ssh", fixture.Site.SshArguments(identity, port, "cat"), input, GatewayHarness.Timeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(input, result.StandardOutput);
        var record = await harness.Backend.WaitForRecordAsync(r => r.SessionId == "sess-cat-1");
        Assert.Contains(record.End, new[] { GatewayConnectionEnd.MachineClosed, GatewayConnectionEnd.ClientClosed });
        Assert.InRange(record.BytesFromClient, input.Length, input.Length + 20_000);
        Assert.True(await Eventually.TrueAsync(() => harness.Gateway.OpenConnectionCount == 0));
    }

    private static async Task<GatewayConnectionRecord[]> WaitForRecordsAsync(GatewayHarness harness, int count)
    {
        Assert.True(await Eventually.TrueAsync(() => harness.Backend.Records.Count >= count, GatewayHarness.Timeout));
        return [.. harness.Backend.Records.OrderBy(r => r.ConnectionId)];
    }

    private static async Task EchoOnceAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        using var client = await listener.AcceptSocketAsync(cancellationToken);
        var buffer = new byte[4096];
        int read;
        while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            await client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken);
        }

        client.Shutdown(SocketShutdown.Send);
    }
}
