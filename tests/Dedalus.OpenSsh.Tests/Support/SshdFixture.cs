using System.Globalization;
using Dedalus.Testing;
using Dedalus.Testing.Sshd;

namespace Dedalus.OpenSsh.Tests.Support;

/// <summary>
/// A real sshd on 127.0.0.1 (free port), configured only with what this library makes: a host
/// key file we wrote, a host certificate we issued, our user CAs, our KRL. Logs in as the current
/// user. Killed on dispose.
/// </summary>
public sealed class SshdFixture : IAsyncLifetime, IDisposable
{
    public const string Principal = "dm-11111111-2222-3333-4444-555555555555";
    public const ulong RevokedSerial = 666;
    public const string RevokedKeyId = "revoked-session";

    private HostSshd? _sshd;
    private bool _disposed;

    public SshdFixture()
    {
        // StrictModes checks every directory up to "/" (or the user's home): no world-writable /tmp.
        ConfigDirectory = Path.Combine("/run", "dedalus-openssh-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(ConfigDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        ClientDirectory = new TempDirectory("dedalus-ssh-client-");
        UserCaKey = SshPrivateKey.GenerateEd25519();
        SecondUserCaKey = SshPrivateKey.GenerateEcdsaNistP256();
        HostCaKey = SshPrivateKey.GenerateEd25519();
        HostKey = SshPrivateKey.GenerateEd25519();
        UserName = Environment.UserName;
        Port = FreePort.Next();
    }

    public string ConfigDirectory { get; }

    public TempDirectory ClientDirectory { get; }

    /// <summary>The user CA sshd trusts (Ed25519).</summary>
    public SshPrivateKey UserCaKey { get; }

    /// <summary>A second trusted user CA (ECDSA nistp256), as during a CA rotation overlap.</summary>
    public SshPrivateKey SecondUserCaKey { get; }

    public SshPrivateKey HostCaKey { get; }

    public SshPrivateKey HostKey { get; }

    public string UserName { get; }

    public int Port { get; }

    public async Task InitializeAsync()
    {
        var hostKeyPath = WriteConfigFile("ssh_host_ed25519_key", HostKey.ToOpenSshFormat("host key"));
        var hostCert = new SshCertificateAuthority(HostCaKey).Issue(new SshCertificateSpec
        {
            Key = HostKey.PublicKey,
            Type = SshCertificateType.Host,
            Serial = 1,
            KeyId = "test host",
            Principals = ["127.0.0.1", "localhost"],
            ValidAfter = DateTimeOffset.UtcNow.AddMinutes(-5),
            ValidBefore = DateTimeOffset.UtcNow.AddHours(2),
        });
        var hostCertPath = WriteConfigFile("ssh_host_ed25519_key-cert.pub", hostCert.ToOpenSshString() + "\n");
        var trustedPath = WriteConfigFile(
            "trusted_user_ca_keys",
            UserCaKey.PublicKey.ToOpenSshString("user-ca") + "\n" + SecondUserCaKey.PublicKey.ToOpenSshString("user-ca-2") + "\n");
        Directory.CreateDirectory(Path.Combine(ConfigDirectory, "principals"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        WriteConfigFile(Path.Combine("principals", UserName), Principal + "\n");
        var krl = new SshKeyRevocationListBuilder(UserCaKey.PublicKey)
            .RevokeSerial(RevokedSerial)
            .RevokeKeyId(RevokedKeyId)
            .Build(1, DateTimeOffset.UtcNow);
        var krlPath = Path.Combine(ConfigDirectory, "revoked.krl");
        await File.WriteAllBytesAsync(krlPath, krl);

        var config = string.Join('\n',
            $"Port {Port.ToString(CultureInfo.InvariantCulture)}",
            "ListenAddress 127.0.0.1",
            $"HostKey {hostKeyPath}",
            $"HostCertificate {hostCertPath}",
            $"TrustedUserCAKeys {trustedPath}",
            $"AuthorizedPrincipalsFile {ConfigDirectory}/principals/%u",
            "AuthorizedKeysFile none",
            $"RevokedKeys {krlPath}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes yes",
            "UsePAM no",
            "PidFile none",
            "PrintMotd no",
            "PrintLastLog no",
            "UseDNS no",
            // Keep the host user's shell start-up files (for example a pyenv hook in root's
            // .bashrc) out of the measured path: the session's HOME is an empty directory.
            $"SetEnv HOME={ConfigDirectory}",
            "LogLevel VERBOSE",
            string.Empty);
        var configPath = WriteConfigFile("sshd_config", config);

        _sshd = await HostSshd.StartAsync(configPath, Port);
    }

    /// <summary>What sshd has logged so far.</summary>
    public OutputLog Log => _sshd?.Log ?? throw new InvalidOperationException("sshd has not been started");

    /// <summary>Writes a client-side file (0600) in a fresh name and returns its path.</summary>
    public string WriteClientFile(string name, string contents) =>
        ClientDirectory.WriteFile($"{Guid.NewGuid():N}-{name}", contents);

    /// <summary>The known_hosts line the client needs: only "@cert-authority pattern hostCA".</summary>
    public string KnownHostsFor(SshPublicKey hostCa) =>
        WriteClientFile("known_hosts", $"@cert-authority [127.0.0.1]:{Port.ToString(CultureInfo.InvariantCulture)} {hostCa.ToOpenSshString()}\n");

    /// <summary>Runs a real ssh client: key file, certificate file, strict host key checking.</summary>
    public Task<ProcessResult> RunSshAsync(string keyPath, string certificatePath, string knownHostsPath, string command = "echo ok") =>
        ProcessRunner.RunAsync(
            OpenSshTools.Ssh,
            [
                "-F", "/dev/null",
                "-p", Port.ToString(CultureInfo.InvariantCulture),
                "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes",
                "-o", $"UserKnownHostsFile={knownHostsPath}",
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "IdentitiesOnly=yes",
                "-o", "IdentityAgent=none",
                "-o", "ConnectTimeout=30",
                "-i", keyPath,
                "-o", $"CertificateFile={certificatePath}",
                "-l", UserName,
                "127.0.0.1",
                command,
            ],
            timeout: TimeSpan.FromSeconds(60));

    public async Task DisposeAsync()
    {
        if (_sshd is not null)
        {
            await _sshd.DisposeAsync();
            _sshd = null;
        }

        Dispose();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        UserCaKey.Dispose();
        SecondUserCaKey.Dispose();
        HostCaKey.Dispose();
        HostKey.Dispose();
        ClientDirectory.Dispose();
        try
        {
            Directory.Delete(ConfigDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string WriteConfigFile(string name, string contents)
    {
        var path = Path.Combine(ConfigDirectory, name);
        File.WriteAllText(path, contents);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }
}
