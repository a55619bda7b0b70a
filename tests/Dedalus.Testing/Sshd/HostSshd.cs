using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Dedalus.Testing.Sshd;

/// <summary>
/// The host's OpenSSH server started for a test: <c>sshd -D -e</c> listening on a loopback port
/// (<see cref="StartAsync"/>, killed on dispose), or <c>sshd -i -e</c> serving one connection on its stdin and
/// stdout (<see cref="StartInetd"/>). Every start first makes sure of sshd's privilege separation directory: on a
/// fresh host /run is a tmpfs without /run/sshd, sshd refuses to start, and a test that only saw "Connection
/// refused" could not tell why. A daemon that exits early or never listens fails the start with sshd's exit code
/// and what it wrote to stderr.
/// </summary>
public sealed class HostSshd : IAsyncDisposable
{
    public const string Program = "/usr/sbin/sshd";

    /// <summary>sshd's privilege separation directory: root-owned, 0755; Debian's ssh service makes it at boot.</summary>
    public const string PrivilegeSeparationDirectory = "/run/sshd";

    /// <summary>How long a daemon may take to listen: generous, as a busy machine starts processes slowly.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly TestProcess _process;

    private HostSshd(TestProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The loopback port the daemon listens on.</summary>
    public int Port { get; }

    /// <summary>What sshd has logged so far (with <c>-e</c> its log goes to stderr).</summary>
    public OutputLog Log => _process.Errors;

    /// <summary>
    /// Checks the configuration (<c>sshd -t</c>), starts <c>sshd -D -e -f <paramref name="configPath"/></c> with
    /// <paramref name="options"/> after it, and waits until it accepts connections on 127.0.0.1:<paramref name="port"/>
    /// (the port the configuration names).
    /// </summary>
    public static async Task<HostSshd> StartAsync(string configPath, int port, params string[] options)
    {
        EnsurePrivilegeSeparationDirectory();
        var check = await ProcessRunner.RunAsync(Program, ["-t", "-f", configPath, .. options]);
        if (check.ExitCode != 0)
        {
            throw new InvalidOperationException($"sshd -t refused the configuration {configPath}: {check}");
        }

        var sshd = new HostSshd(TestProcess.Start(Program, ["-D", "-e", "-f", configPath, .. options], drainOutput: true), port);
        try
        {
            await sshd.WaitListeningAsync();
            return sshd;
        }
        catch
        {
            await sshd.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts <c>sshd -i -e -f <paramref name="configPath"/></c>: one SSH connection on its stdin and stdout, its log on stderr.</summary>
    public static TestProcess StartInetd(string configPath)
    {
        EnsurePrivilegeSeparationDirectory();
        return TestProcess.Start(Program, ["-i", "-e", "-f", configPath]);
    }

    /// <summary>Creates /run/sshd (0755) when the host has none.</summary>
    public static void EnsurePrivilegeSeparationDirectory()
    {
        if (!Directory.Exists(PrivilegeSeparationDirectory))
        {
            Directory.CreateDirectory(PrivilegeSeparationDirectory);
            File.SetUnixFileMode(
                PrivilegeSeparationDirectory,
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private async Task WaitListeningAsync()
    {
        var started = Stopwatch.GetTimestamp();
        while (!await AcceptsConnectionsAsync())
        {
            if (_process.HasExited)
            {
                // Exited also waits for the end of stderr: the whole of sshd's complaint is in the log.
                var exitCode = await _process.WaitForExitAsync();
                throw new InvalidOperationException($"sshd exited with code {exitCode} before listening on 127.0.0.1:{Port}: {Stderr()}");
            }

            if (Stopwatch.GetElapsedTime(started) > StartTimeout)
            {
                throw new TimeoutException($"sshd did not listen on 127.0.0.1:{Port} within {StartTimeout}: {Stderr()}");
            }

            await Task.WhenAny(_process.Exited, Task.Delay(50));
        }
    }

    /// <summary>Whether an SSH server answers on the port with its version line (not just any program that holds it).</summary>
    private async Task<bool> AcceptsConnectionsAsync()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), cts.Token);
            var banner = new byte[4];
            var read = 0;
            int count;
            while (read < banner.Length && (count = await socket.ReceiveAsync(banner.AsMemory(read), SocketFlags.None, cts.Token)) > 0)
            {
                read += count;
            }

            return banner.AsSpan(0, read).SequenceEqual("SSH-"u8);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private string Stderr() => Log.Text.TrimEnd() is { Length: > 0 } text ? text : "(nothing on stderr)";
}
