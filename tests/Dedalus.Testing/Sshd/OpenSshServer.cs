using Dedalus.Contracts;

namespace Dedalus.Testing.Sshd;

/// <summary>
/// A real <c>sshd</c> on 127.0.0.1:&lt;free port&gt; set up as a Dedalus machine is: it trusts only a user CA,
/// accepts only the machine id as principal, has a host certificate from a host CA, and no passwords or
/// authorized_keys. Certificates are signed with <c>ssh-keygen</c>, the OpenSSH oracle.
/// </summary>
public sealed class OpenSshServer : IAsyncDisposable
{
    private readonly TempDirectory _directory;
    private readonly HostSshd _sshd;
    private int _serial;

    private OpenSshServer(TempDirectory directory, HostSshd sshd, string machineId, string hostCaPublicKey)
    {
        _directory = directory;
        _sshd = sshd;
        MachineId = machineId;
        HostCaPublicKey = hostCaPublicKey;
    }

    public int Port => _sshd.Port;

    public string MachineId { get; }

    public string HostCaPublicKey { get; }

    public string UserName { get; } = Environment.UserName;

    /// <param name="machineId">The one principal the sshd accepts.</param>
    /// <param name="hostKey">The host key (OpenSSH private key text) and its public line; a fresh ssh-keygen key when null.</param>
    public static async Task<OpenSshServer> StartAsync(string machineId, (string PrivateKey, string PublicKey)? hostKey = null)
    {
        var directory = new TempDirectory("dedalus-sshd-");
        try
        {
            await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", "user-ca", "-f", directory.Combine("user_ca"));
            await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", "host-ca", "-f", directory.Combine("host_ca"));
            if (hostKey is { } given)
            {
                directory.WriteFile("host_key", given.PrivateKey);
                directory.WriteFile("host_key.pub", given.PublicKey.Trim() + "\n");
            }
            else
            {
                await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", "host", "-f", directory.Combine("host_key"));
            }

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
            var sshd = await HostSshd.StartAsync(config, port);
            return new OpenSshServer(directory, sshd, machineId, File.ReadAllText(directory.Combine("host_ca.pub")).Trim());
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
        await _sshd.DisposeAsync();
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
}
