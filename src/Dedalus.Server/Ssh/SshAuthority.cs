using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Dedalus.Machines.Runtime;
using Dedalus.OpenSsh;
using Dedalus.Server.Hosting;
using Dedalus.Server.Sessions;

namespace Dedalus.Server.Ssh;

/// <summary>
/// The certificate authorities. The user CA signs session certificates. Host certificates come from one CA per
/// machine, derived from the master host key <c>ca/host_ca</c> (HKDF-SHA256 over its seed, salted with a fixed label,
/// with the machine id as info): a session trusts only its own machine's CA, so a machine whose root reads its own host
/// key cannot pose as another machine, and the derivation needs no storage and ends with the machine (ids are never
/// reused). The master's own public key signs nothing and is trusted by nobody. Keys are Ed25519, created on first
/// start as OpenSSH private key files (0600, in a 0700 directory) under <c>&lt;data-dir&gt;/ca</c> and loaded afterwards.
/// Private keys are never logged or returned.
/// </summary>
/// <param name="userCaKey">The user CA's key; disposed with this authority.</param>
/// <param name="hostCaKey">The master host key (Ed25519) every machine's host CA derives from; disposed with this authority.</param>
/// <param name="options">Gateway names (host certificate principals), the validity back-date and the host certificate lifetime.</param>
public sealed class SshAuthority(SshPrivateKey userCaKey, SshPrivateKey hostCaKey, ServerOptions options) : IDisposable
{
    private readonly SshCertificateAuthority _userCa = new(userCaKey);
    private readonly SshPrivateKey _hostMaster = hostCaKey.KeyType == SshKeyAlgorithms.Ed25519
        ? hostCaKey
        : throw new ArgumentException($"the host CA key must be Ed25519 (every machine's host CA derives from its seed), not {hostCaKey.KeyType}", nameof(hostCaKey));

    public const string UserCaFileName = "user_ca";
    public const string HostCaFileName = "host_ca";

    /// <summary>The comment of a machine's host CA public key line in <c>host_trust</c>.</summary>
    public const string MachineHostCaComment = "dedalus-machine-host-ca";

    /// <summary>
    /// The HKDF salt of the machines' host CAs: a fixed label, versioned so that another derivation (should one ever be
    /// needed) gives unrelated keys from the same master.
    /// </summary>
    private static ReadOnlySpan<byte> MachineHostCaSalt => "dedalus machine host CA v1"u8;

    /// <summary>The user CA public key line (for <c>TrustedUserCAKeys</c>).</summary>
    public string UserCaPublicKey { get; } = userCaKey.PublicKey.ToOpenSshString("dedalus-user-ca");

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

    /// <summary>
    /// The public key line of <paramref name="machineId"/>'s host CA, the only key a session on that machine trusts
    /// (<c>@cert-authority</c>). The same for the machine's whole life, and across server restarts.
    /// </summary>
    public string MachineHostCaPublicKey(string machineId)
    {
        using var ca = DeriveMachineHostCa(machineId);
        return ca.PublicKey.ToOpenSshString(MachineHostCaComment);
    }

    /// <summary>
    /// A fresh host key for <paramref name="machineId"/> and its certificate from the machine's own host CA, valid from
    /// <paramref name="now"/> less the back-date for <see cref="ServerOptions.HostCertificateLifetime"/>. What the
    /// certificate shows anyone who connects to the machine's gateway port, before authenticating: an opaque random key
    /// id and serial, the gateway names as principals (what OpenSSH and the SDK check against the name they connected
    /// to), the validity window, the host key and the machine's host CA key; not the machine id, nor its org.
    /// </summary>
    public MachineHostIdentity IssueHostIdentity(string machineId, DateTimeOffset now)
    {
        using var ca = DeriveMachineHostCa(machineId);
        using var hostKey = SshPrivateKey.GenerateEd25519();
        var keyId = "host-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var validAfter = now - options.CertificateBackdate;
        var validBefore = now + options.HostCertificateLifetime;
        var certificate = new SshCertificateAuthority(ca).Issue(new SshCertificateSpec
        {
            Key = hostKey.PublicKey,
            Type = SshCertificateType.Host,
            Serial = SessionIds.NewSerial(),
            KeyId = keyId,
            Principals = [.. options.GatewayHost],
            ValidAfter = validAfter,
            ValidBefore = validBefore,
        });
        return new MachineHostIdentity(
            new MachineSshMaterial(hostKey.ToOpenSshFormat(keyId), certificate.ToOpenSshString(keyId)),
            keyId,
            certificate.Serial,
            certificate.ValidAfter,
            certificate.ValidBefore);
    }

    /// <summary>CA_m: the Ed25519 key whose seed is HKDF-SHA256(master seed, salt = the fixed label, info = the machine id in UTF-8).</summary>
    private SshPrivateKey DeriveMachineHostCa(string machineId)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineId);
        return _hostMaster.DeriveEd25519(MachineHostCaSalt, Encoding.UTF8.GetBytes(machineId));
    }

    /// <summary>
    /// A server-wide secret for <paramref name="purpose"/> (a MAC key): HKDF-SHA256 over the master seed of
    /// <c>ca/host_ca</c>, salt <c>dedalus server secret v1</c>, info the purpose. The same on every start, nothing stored.
    /// </summary>
    public byte[] DeriveSecret(string purpose) => _hostMaster.DeriveSecret("dedalus server secret v1"u8, Encoding.UTF8.GetBytes(purpose));

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
        _hostMaster.Dispose();
    }
}
