using System.Text;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>
/// Real OpenSSH material for gateway tests: a host CA and user CA (made by ssh-keygen), a host key
/// with a host certificate, a KRL, and one sshd_config per machine. Lives in a root-owned 0700
/// directory under /run (sshd's StrictModes refuses principals files under world-writable /tmp).
/// </summary>
public sealed class SshTestSite : ISshClientSite, IDisposable
{
    /// <summary>The serial the site's KRL revokes.</summary>
    public const ulong RevokedSerial = 4242;

    private static readonly UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private int _nextKey;

    private SshTestSite(string root) => Root = root;

    public string Root { get; }

    public string UserCaKey => Path.Combine(Root, "user_ca");

    public string HostCaKey => Path.Combine(Root, "host_ca");

    public string KnownHostsFile => Path.Combine(Root, "known_hosts");

    public string LoginUser => "root";

    public static async Task<SshTestSite> CreateAsync(string purpose = "gateway-tests", int loginGraceSeconds = 30)
    {
        var parent = $"/run/dedalus-{purpose}";
        Directory.CreateDirectory(parent);
        File.SetUnixFileMode(parent, PrivateDirectory);
        var root = Path.Combine(parent, Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, PrivateDirectory);
        var site = new SshTestSite(root) { LoginGraceSeconds = loginGraceSeconds };
        await site.InitializeAsync();
        return site;
    }

    public int LoginGraceSeconds { get; private init; }

    private async Task InitializeAsync()
    {
        await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", "user-ca", "-f", UserCaKey);
        await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", "host-ca", "-f", HostCaKey);
        var hostKey = Path.Combine(Root, "host_ed25519");
        await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", "host", "-f", hostKey);
        await KeygenAsync("-q", "-s", HostCaKey, "-h", "-I", "host", "-n", "127.0.0.1,localhost", hostKey + ".pub");
        var spec = Path.Combine(Root, "krl.spec");
        await File.WriteAllTextAsync(spec, $"serial: {RevokedSerial}\n");
        await KeygenAsync("-q", "-k", "-f", Path.Combine(Root, "revoked.krl"), "-s", UserCaKey + ".pub", spec);
        var hostCa = (await File.ReadAllTextAsync(HostCaKey + ".pub")).Trim();
        await File.WriteAllTextAsync(KnownHostsFile, $"@cert-authority 127.0.0.1,[127.0.0.1]:* {hostCa}\n");
    }

    /// <summary>Writes the sshd_config of a machine whose only accepted principal is its id; returns its path.</summary>
    public string AddMachine(string machineId)
    {
        var directory = Path.Combine(Root, machineId);
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, PrivateDirectory);
        var principals = Path.Combine(directory, "principals");
        File.WriteAllText(principals, machineId + "\n");
        File.SetUnixFileMode(principals, Private);
        // Sessions get an empty HOME: the host root's shell startup files (pyenv and the like) must
        // not run, nor be killed half-way, when tests cut connections.
        var home = Path.Combine(Root, "home");
        Directory.CreateDirectory(home);
        var config = new StringBuilder()
            .AppendLine($"HostKey {Root}/host_ed25519")
            .AppendLine($"HostCertificate {Root}/host_ed25519-cert.pub")
            .AppendLine($"TrustedUserCAKeys {UserCaKey}.pub")
            .AppendLine($"RevokedKeys {Root}/revoked.krl")
            .AppendLine($"AuthorizedPrincipalsFile {principals}")
            .AppendLine("AuthorizedKeysFile none")
            .AppendLine("PubkeyAuthentication yes")
            .AppendLine("PasswordAuthentication no")
            .AppendLine("KbdInteractiveAuthentication no")
            .AppendLine("PermitRootLogin prohibit-password")
            .AppendLine("UsePAM no")
            .AppendLine("StrictModes yes")
            .AppendLine("LogLevel VERBOSE")
            .AppendLine("PidFile none")
            .AppendLine($"LoginGraceTime {LoginGraceSeconds}")
            .AppendLine("MaxStartups 1000")
            .AppendLine("Subsystem sftp internal-sftp")
            .AppendLine($"SetEnv HOME={home}")
            .ToString();
        var path = Path.Combine(directory, "sshd_config");
        File.WriteAllText(path, config);
        File.SetUnixFileMode(path, Private);
        return path;
    }

    /// <summary>An ed25519 key pair with a user certificate (key id = session id, principal = machine id).</summary>
    public async Task<UserIdentity> IssueAsync(string sessionId, string machineId, ulong serial)
    {
        var key = Path.Combine(Root, $"user{Interlocked.Increment(ref _nextKey)}");
        await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", sessionId, "-f", key);
        await KeygenAsync("-q", "-s", UserCaKey, "-I", sessionId, "-n", machineId, "-z", serial.ToString(System.Globalization.CultureInfo.InvariantCulture), "-V", "-5m:+1h", key + ".pub");
        return new UserIdentity(key, key + "-cert.pub", sessionId, serial);
    }

    private static async Task KeygenAsync(params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("ssh-keygen", arguments);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ssh-keygen {string.Join(' ', arguments)} failed: {result}");
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
