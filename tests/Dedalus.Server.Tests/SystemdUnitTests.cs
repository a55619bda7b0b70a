using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// deploy/systemd/dedalus-server.service: systemd's own checker accepts it, it says what the README promises, and the
/// server really speaks the notify protocol its <c>Type=notify</c> relies on. This host's PID 1 is not systemd, so the
/// unit is not started here: <c>systemd-analyze verify</c> loads it, and a parent named <c>systemd</c> with a
/// <c>NOTIFY_SOCKET</c> stands in for the service manager.
/// </summary>
public sealed class SystemdUnitTests : IDisposable
{
    private static readonly string Unit = Path.GetFullPath(Path.Combine(TestDirectory(), "..", "..", "deploy", "systemd", "dedalus-server.service"));
    private readonly TempDirectory _work = new();

    public SystemdUnitTests()
    {
        File.SetUnixFileMode(_work.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Systemd_analyze_verify_accepts_the_unit_with_the_binary_where_it_is_installed()
    {
        // verify checks that ExecStart's program exists: point it at the one built beside the tests.
        var text = await File.ReadAllTextAsync(Unit);
        Assert.Contains("ExecStart=/usr/local/bin/dedalus-server --data-dir /var/lib/dedalus-server\n", text, StringComparison.Ordinal);
        var copy = _work.Combine("dedalus-server.service");
        await File.WriteAllTextAsync(copy, text.Replace("/usr/local/bin/dedalus-server", ServerProgram.Path, StringComparison.Ordinal));

        var verify = await ProcessRunner.RunAsync("systemd-analyze", "verify", copy);

        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.True(verify.StandardError.Trim().Length == 0, verify.ToString());
    }

    [Fact]
    public async Task The_unit_is_a_notify_service_that_restarts_on_failure_without_options_that_break_machines()
    {
        var settings = (await File.ReadAllLinesAsync(Unit))
            .Where(line => line.Length > 0 && !line.StartsWith('#') && !line.StartsWith('['))
            .Select(line => line.Split('=', 2))
            .ToLookup(pair => pair[0], pair => pair[1]);

        Assert.Equal("notify", Assert.Single(settings["Type"]));
        Assert.Equal("on-failure", Assert.Single(settings["Restart"]));
        Assert.Equal("root", Assert.Single(settings["User"]));
        Assert.Equal("1048576", Assert.Single(settings["LimitNOFILE"]));
        Assert.Equal("90s", Assert.Single(settings["TimeoutStopSec"]));
        Assert.Equal("multi-user.target", Assert.Single(settings["WantedBy"]));
        foreach (var breaking in new[] { "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectControlGroups", "ProtectKernelModules", "NoNewPrivileges", "SystemCallFilter", "RestrictNamespaces", "CapabilityBoundingSet" })
        {
            Assert.False(settings.Contains(breaking), breaking);
        }
    }

    [Fact]
    public async Task Under_a_parent_named_systemd_the_server_sends_ready_then_stopping_to_the_notify_socket()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        var socketPath = _work.Combine("notify");
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));

        // The hosting library starts its systemd lifetime only when the parent process is named systemd: a copy of bash
        // by that name runs the server as its child and passes SIGTERM on, as the service manager would.
        var parent = _work.Combine("systemd");
        File.Copy("/bin/bash", parent);
        var port = FreePort.Next();
        await using var process = TestProcess.Start(
            parent,
            ["-c", "\"$0\" \"$@\" & child=$!; trap 'kill -TERM $child' TERM; wait $child; wait $child", ServerProgram.Path,
             "--data-dir", _work.Combine("data"), "--listen", $"127.0.0.1:{port}", "--gateway", "false", "--machine-network", "off"],
            [new("NOTIFY_SOCKET", socketPath), new("INVOCATION_ID", "0123456789abcdef0123456789abcdef"), new("HOME", _work.Path)],
            drainOutput: true);

        var ready = await ReceiveAsync(socket, process);
        Assert.Contains("READY=1", ready, StringComparison.Ordinal);
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            // Ready means serving.
            Assert.Equal("ok", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/healthz")));
        }

        await process.SignalAsync("TERM");
        var stopping = await ReceiveAsync(socket, process);
        Assert.Contains("STOPPING=1", stopping, StringComparison.Ordinal);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        // INVOCATION_ID set and no --log-format: journald's format.
        Assert.Contains("<6>Dedalus.Server[1401] ", process.Output.Text, StringComparison.Ordinal);
    }

    private static async Task<string> ReceiveAsync(Socket socket, TestProcess process)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            var received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return Encoding.UTF8.GetString(buffer, 0, received);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no notification from the server:\n" + process.Output.Text + process.Errors.Text);
        }
    }

    private static string TestDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
