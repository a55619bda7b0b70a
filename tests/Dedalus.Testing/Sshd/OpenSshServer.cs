using System.Diagnostics;
using System.Net.Sockets;
using Dedalus.Contracts;

namespace Dedalus.Testing.Sshd;

/// <summary>
/// A real <c>sshd</c> on 127.0.0.1:&lt;free port&gt; set up as a Dedalus machine is: it trusts only a user CA,
/// accepts only the machine id as principal, has a host certificate from a host CA, and no passwords or
/// authorized_keys. Certificates are signed with <c>ssh-keygen</c>, the OpenSSH oracle.
/// </summary>
public sealed class OpenSshServer : IAsyncDisposable
{
    /// <summary>sshd's privilege separation directory; on a fresh host <c>/run</c> is a tmpfs without it.</summary>
    private const string PrivilegeSeparationDirectory = "/run/sshd";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly TempDirectory _directory;
    private readonly Process _sshd;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _stderr;
    private int _serial;

    private OpenSshServer(TempDirectory directory, Process sshd, System.Collections.Concurrent.ConcurrentQueue<string> stderr, int port, string machineId, string hostCaPublicKey)
    {
        _directory = directory;
        _sshd = sshd;
        _stderr = stderr;
        Port = port;
        MachineId = machineId;
        HostCaPublicKey = hostCaPublicKey;
    }

    public int Port { get; }

    public string MachineId { get; }

    public string HostCaPublicKey { get; }

    public string UserName { get; } = Environment.UserName;

    public static async Task<OpenSshServer> StartAsync(string machineId)
    {
        var directory = new TempDirectory("dedalus-sshd-");
        try
        {
            await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", "user-ca", "-f", directory.Combine("user_ca"));
            await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", "host-ca", "-f", directory.Combine("host_ca"));
            await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", "host", "-f", directory.Combine("host_key"));
            await KeygenAsync("-q", "-s", directory.Combine("host_ca"), "-I", "host", "-h", "-n", "127.0.0.1,localhost," + machineId, "-V", "-5m:+1d", directory.Combine("host_key.pub"));
            directory.WriteFile("principals", machineId + "\n");
            var port = FreePort.Next();
            var config = directory.WriteFile("sshd_config", $"""
                Port {port}
                ListenAddress 127.0.0.1
                HostKey {directory.Combine("host_key")}
                HostCertificate {directory.Combine("host_key-cert.pub")}
                TrustedUserCAKeys {directory.Combine("user_ca.pub")}
                AuthorizedPrincipalsFile {directory.Combine("principals")}
                AuthorizedKeysFile none
                PubkeyAuthentication yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                StrictModes no
                PermitRootLogin prohibit-password
                AllowTcpForwarding yes
                PidFile none
                Subsystem sftp internal-sftp
                LogLevel ERROR

                """);
            var startInfo = new ProcessStartInfo("/usr/sbin/sshd")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "-D", "-e", "-f", config })
            {
                startInfo.ArgumentList.Add(argument);
            }

            EnsurePrivilegeSeparationDirectory();
            var stderr = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var sshd = Process.Start(startInfo)!;
            sshd.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { } line && stderr.Count < 200)
                {
                    stderr.Enqueue(line);
                }
            };
            sshd.OutputDataReceived += (_, _) => { };
            sshd.BeginErrorReadLine();
            sshd.BeginOutputReadLine();
            var server = new OpenSshServer(directory, sshd, stderr, port, machineId, File.ReadAllText(directory.Combine("host_ca.pub")).Trim());
            try
            {
                await server.WaitListeningAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }

            return server;
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>Signs a user certificate for <paramref name="publicKey"/> with the user CA, principal = machine id.</summary>
    public async Task<string> SignUserKeyAsync(string publicKey)
    {
        var serial = Interlocked.Increment(ref _serial);
        var path = _directory.WriteFile($"user-{serial}.pub", publicKey.Trim() + "\n");
        await KeygenAsync("-q", "-s", _directory.Combine("user_ca"), "-I", $"ssh-{serial}", "-z", serial.ToString(System.Globalization.CultureInfo.InvariantCulture), "-n", MachineId, "-V", "-1m:+10m", path);
        return File.ReadAllText(_directory.Combine($"user-{serial}-cert.pub")).Trim();
    }

    public SshConnection Connection(string certificate) =>
        new("127.0.0.1", Port, UserName, certificate, new SshHostTrust("cert_authority", "[127.0.0.1]:*", HostCaPublicKey));

    public async ValueTask DisposeAsync()
    {
        try
        {
            _sshd.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _sshd.WaitForExitAsync(cts.Token);
        }
        catch (InvalidOperationException)
        {
        }

        _sshd.Dispose();
        _directory.Dispose();
    }

    private static async Task KeygenAsync(params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("ssh-keygen", arguments);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("ssh-keygen failed: " + result);
        }
    }

    /// <summary>
    /// sshd refuses to start without its privilege separation directory (root-owned, not group or world writable);
    /// Debian's service unit creates it at boot, so a host that never started the ssh service lacks it.
    /// </summary>
    private static void EnsurePrivilegeSeparationDirectory()
    {
        if (!Directory.Exists(PrivilegeSeparationDirectory))
        {
            Directory.CreateDirectory(PrivilegeSeparationDirectory);
            File.SetUnixFileMode(
                PrivilegeSeparationDirectory,
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
    }

    /// <summary>Waits until sshd accepts connections; if it exits or never listens, fails with its exit code and stderr.</summary>
    private async Task WaitListeningAsync()
    {
        var clock = Stopwatch.StartNew();
        while (!_sshd.HasExited && clock.Elapsed < StartTimeout)
        {
            try
            {
                using var client = new TcpClient();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.ConnectAsync("127.0.0.1", Port, cts.Token);
                return;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                await Task.Delay(50);
            }
        }

        if (_sshd.HasExited)
        {
            // The parameterless wait also waits for the end of the redirected output, so all of stderr is in.
            _sshd.WaitForExit();
            throw new InvalidOperationException($"sshd exited with code {_sshd.ExitCode} before listening on 127.0.0.1:{Port}: {Stderr()}");
        }

        throw new TimeoutException($"sshd did not listen on 127.0.0.1:{Port} within {StartTimeout.TotalSeconds:0} s: {Stderr()}");
    }

    private string Stderr() => _stderr.IsEmpty ? "(nothing on stderr)" : string.Join(" | ", _stderr);
}
