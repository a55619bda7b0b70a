using System.Security.Cryptography;
using System.Text;
using Dedalus.Machines.Runtime;
using Dedalus.OpenSsh;
using Dedalus.Server.Hosting;
using Dedalus.Server.Sessions;

namespace Dedalus.Server.Ssh;

/// <summary>
/// One reading of the CA files (<see cref="CaFiles"/>): the user CA that signs session certificates, the retired user
/// CAs still trusted for a while, and the master host key every machine's host CA derives from. Immutable: a rotation
/// makes the <see cref="SshAuthority"/> load a new one. Private keys are never logged or returned.
/// </summary>
public sealed class CaKeys : IDisposable
{
    /// <summary>The comment of a machine's host CA public key line in <c>host_trust</c>.</summary>
    public const string MachineHostCaComment = "dedalus-machine-host-ca";

    private readonly SshPrivateKey _userCaKey;
    private readonly SshCertificateAuthority _userCa;
    private readonly SshPrivateKey _hostMaster;
    private readonly ServerOptions _options;

    /// <param name="userCaKey">The user CA's key; disposed with this object.</param>
    /// <param name="retiredUserCas">User CAs replaced by rotations, each with the end of its overlap.</param>
    /// <param name="hostMaster">The master host key (Ed25519); disposed with this object.</param>
    /// <param name="options">Gateway names (host certificate principals), the validity back-date and the host certificate lifetime.</param>
    public CaKeys(SshPrivateKey userCaKey, IReadOnlyList<RetiredUserCa> retiredUserCas, SshPrivateKey hostMaster, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(userCaKey);
        ArgumentNullException.ThrowIfNull(hostMaster);
        if (hostMaster.KeyType != SshKeyAlgorithms.Ed25519)
        {
            throw new ArgumentException($"the host CA key must be Ed25519 (every machine's host CA derives from its seed), not {hostMaster.KeyType}", nameof(hostMaster));
        }

        _userCaKey = userCaKey;
        _userCa = new SshCertificateAuthority(userCaKey);
        _hostMaster = hostMaster;
        _options = options;

        // The current CA is never among the retired ones (a rotation back to an old key would otherwise end its trust).
        RetiredUserCas = [.. retiredUserCas.Where(r => !r.Key.Equals(userCaKey.PublicKey))];
    }

    /// <summary>
    /// The HKDF salt of the machines' host CAs: a fixed label, versioned so that another derivation (should one ever be
    /// needed) gives unrelated keys from the same master.
    /// </summary>
    private static ReadOnlySpan<byte> MachineHostCaSalt => "dedalus machine host CA v1"u8;

    /// <summary>The user CA's public key: it signs every new session certificate.</summary>
    public SshPublicKey UserCa => _userCaKey.PublicKey;

    /// <summary>User CAs replaced by rotations, with the end of each one's overlap (past ones included until the next rotation prunes them).</summary>
    public IReadOnlyList<RetiredUserCa> RetiredUserCas { get; }

    /// <summary>The master host key's public key (trusted by nobody; it tells which master the machines' host CAs come from).</summary>
    public SshPublicKey HostMaster => _hostMaster.PublicKey;

    /// <summary>Reads the keys from <paramref name="files"/>: the user CA first, then the retired ones (see <see cref="CaFiles"/>), then the master.</summary>
    /// <exception cref="SshFormatException">A key file is not an unencrypted OpenSSH private key.</exception>
    /// <exception cref="InvalidDataException"><c>user_ca.retired</c> has a bad line.</exception>
    public static CaKeys Load(CaFiles files, ServerOptions options)
    {
        var userCa = CaFiles.ReadKey(files.UserCaPath);
        SshPrivateKey? hostMaster = null;
        try
        {
            var retired = files.ReadRetiredUserCas();
            hostMaster = CaFiles.ReadKey(files.HostCaPath);
            return new CaKeys(userCa, retired, hostMaster, options);
        }
        catch
        {
            userCa.Dispose();
            hostMaster?.Dispose();
            throw;
        }
    }

    /// <summary>The user CAs machines trust at <paramref name="now"/>: the current one first, then the retired ones whose overlap runs.</summary>
    public IReadOnlyList<SshPublicKey> TrustedUserCas(DateTimeOffset now) =>
        [UserCa, .. RetiredUserCas.Where(r => r.IsTrustedAt(now)).Select(r => r.Key).Distinct()];

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
    /// (<c>@cert-authority</c>). The same for the machine's whole life and across restarts, until a host CA rotation
    /// replaces the master.
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
        var certificate = new SshCertificateAuthority(ca).Issue(new SshCertificateSpec
        {
            Key = hostKey.PublicKey,
            Type = SshCertificateType.Host,
            Serial = SessionIds.NewSerial(),
            KeyId = keyId,
            Principals = [.. _options.GatewayHost],
            ValidAfter = now - _options.CertificateBackdate,
            ValidBefore = now + _options.HostCertificateLifetime,
        });
        return new MachineHostIdentity(
            new MachineSshMaterial(hostKey.ToOpenSshFormat(keyId), certificate.ToOpenSshString(keyId)),
            keyId,
            certificate.Serial,
            certificate.ValidAfter,
            certificate.ValidBefore);
    }

    public void Dispose()
    {
        _userCaKey.Dispose();
        _hostMaster.Dispose();
    }

    /// <summary>CA_m: the Ed25519 key whose seed is HKDF-SHA256(master seed, salt = the fixed label, info = the machine id in UTF-8).</summary>
    private SshPrivateKey DeriveMachineHostCa(string machineId)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineId);
        return _hostMaster.DeriveEd25519(MachineHostCaSalt, Encoding.UTF8.GetBytes(machineId));
    }
}
