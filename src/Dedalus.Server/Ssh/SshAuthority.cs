using System.Diagnostics.CodeAnalysis;
using Dedalus.Machines.Runtime;
using Dedalus.OpenSsh;
using Dedalus.Server.Hosting;

namespace Dedalus.Server.Ssh;

/// <summary>
/// The two certificate authorities: the user CA signs session certificates, the host CA signs each machine's
/// host key. Their keys are Ed25519, created on first start as OpenSSH private key files (0600, in a 0700
/// directory) under <c>&lt;data-dir&gt;/ca</c> and loaded afterwards. Private keys are never logged or returned.
/// </summary>
/// <param name="userCaKey">The user CA's key; disposed with this authority.</param>
/// <param name="hostCaKey">The host CA's key; disposed with this authority.</param>
/// <param name="options">Gateway names (host certificate principals) and the validity back-date.</param>
public sealed class SshAuthority(SshPrivateKey userCaKey, SshPrivateKey hostCaKey, ServerOptions options) : IDisposable
{
    private readonly SshCertificateAuthority _userCa = new(userCaKey);
    private readonly SshCertificateAuthority _hostCa = new(hostCaKey);

    public const string UserCaFileName = "user_ca";
    public const string HostCaFileName = "host_ca";

    /// <summary>The user CA public key line (for <c>TrustedUserCAKeys</c>).</summary>
    public string UserCaPublicKey { get; } = userCaKey.PublicKey.ToOpenSshString("dedalus-user-ca");

    /// <summary>The host CA public key line (for <c>@cert-authority</c>).</summary>
    public string HostCaPublicKey { get; } = hostCaKey.PublicKey.ToOpenSshString("dedalus-host-ca");

    public SshPublicKey UserCaKey => userCaKey.PublicKey;

    public static string CaDirectory(string dataDirectory) => Path.Combine(dataDirectory, "ca");

    /// <summary>Loads the CA keys from the data directory, creating them on first start.</summary>
    public static SshAuthority LoadOrCreate(ServerOptions options, ILogger logger)
    {
        var directory = CaDirectory(options.DataDirectory);
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var userCa = LoadOrCreateKey(Path.Combine(directory, UserCaFileName), "dedalus-user-ca", logger);
        var hostCa = LoadOrCreateKey(Path.Combine(directory, HostCaFileName), "dedalus-host-ca", logger);
        return new SshAuthority(userCa, hostCa, options);
    }

    private static SshPrivateKey LoadOrCreateKey(string path, string comment, ILogger logger)
    {
        if (File.Exists(path))
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            var loaded = SshPrivateKey.ParseOpenSshFormat(File.ReadAllText(path));
            ServerLog.CaKeyLoaded(logger, comment, loaded.PublicKey.Fingerprint);
            return loaded;
        }

        var key = SshPrivateKey.GenerateEd25519();
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(key.ToOpenSshFormat(comment));
        }

        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, path, overwrite: false);
        File.WriteAllText(path + ".pub", key.PublicKey.ToOpenSshString(comment) + "\n");
        ServerLog.CaKeyCreated(logger, comment, key.PublicKey.Fingerprint);
        return key;
    }

    /// <summary>Parses a client public key line; the error names the problem.</summary>
    public static bool TryParseClientKey(string? line, [NotNullWhen(true)] out SshPublicKey? key, [NotNullWhen(false)] out string? error)
    {
        key = null;
        if (string.IsNullOrWhiteSpace(line))
        {
            error = "public_key is required: an OpenSSH public key line such as 'ssh-ed25519 AAAA...'";
            return false;
        }

        var trimmed = line.Trim();
        if (trimmed.Contains('\n', StringComparison.Ordinal) || trimmed.Contains('\r', StringComparison.Ordinal))
        {
            error = "public_key must be a single line";
            return false;
        }

        if (!SshPublicKey.TryParse(trimmed, out key, out var parseError))
        {
            error = "public_key: " + parseError;
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>Issues a session's user certificate: key id = session id, principal = machine id.</summary>
    public string IssueUserCertificate(SshPublicKey key, string sessionId, ulong serial, string machineId, DateTimeOffset validAfter, DateTimeOffset validBefore) =>
        _userCa.Issue(new SshCertificateSpec
        {
            Key = key,
            Type = SshCertificateType.User,
            Serial = serial,
            KeyId = sessionId,
            Principals = [machineId],
            ValidAfter = validAfter,
            ValidBefore = validBefore,
            Extensions = SshCertificateSpec.DefaultUserExtensions,
        }).ToOpenSshString();

    /// <summary>A fresh host key for a machine and its host certificate (principals: gateway names and the machine id).</summary>
    public MachineSshMaterial CreateHostMaterial(string machineId, ulong serial, DateTimeOffset now)
    {
        using var hostKey = SshPrivateKey.GenerateEd25519();
        var certificate = _hostCa.Issue(new SshCertificateSpec
        {
            Key = hostKey.PublicKey,
            Type = SshCertificateType.Host,
            Serial = serial,
            KeyId = machineId,
            Principals = [.. options.GatewayHost, machineId],
            ValidAfter = now - options.CertificateBackdate,
            ValidBefore = DateTimeOffset.MaxValue,
        });
        return new MachineSshMaterial(hostKey.ToOpenSshFormat(machineId), certificate.ToOpenSshString(machineId));
    }

    /// <summary>An OpenSSH KRL revoking <paramref name="serials"/> of the user CA.</summary>
    public byte[] BuildRevocationList(IEnumerable<ulong> serials, ulong version, DateTimeOffset now)
    {
        var builder = new SshKeyRevocationListBuilder(userCaKey.PublicKey);
        foreach (var serial in serials)
        {
            builder.RevokeSerial(serial);
        }

        return builder.Build(version, now);
    }

    public void Dispose()
    {
        userCaKey.Dispose();
        hostCaKey.Dispose();
    }
}
