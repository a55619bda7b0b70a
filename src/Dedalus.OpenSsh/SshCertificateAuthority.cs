using System.Security.Cryptography;
using Dedalus.OpenSsh.Wire;

namespace Dedalus.OpenSsh;

/// <summary>
/// Issues OpenSSH user and host certificates signed by a CA key (Ed25519, or ECDSA nistp256).
/// Thread-safe as long as the CA key is not disposed. Does not own <paramref name="caKey"/>.
/// </summary>
public sealed class SshCertificateAuthority(SshPrivateKey caKey)
{
    private const int StackBufferSize = 1024;
    private const int MaxSignatureLength = 256;

    private readonly SshPrivateKey _caKey = caKey ?? throw new ArgumentNullException(nameof(caKey));

    /// <summary>The CA public key (what TrustedUserCAKeys and @cert-authority lines hold).</summary>
    public SshPublicKey PublicKey => _caKey.PublicKey;

    /// <summary>
    /// Issues a certificate (PROTOCOL.certkeys):
    /// <code>
    /// string    certificate type, e.g. "ssh-ed25519-cert-v01@openssh.com"
    /// string    nonce (32 random bytes)
    /// ...       the subject key fields, as in its key blob after the type name
    /// uint64    serial
    /// uint32    type (1 user, 2 host)
    /// string    key id
    /// string    valid principals: string principal ...
    /// uint64    valid after (seconds since the epoch)
    /// uint64    valid before (0xffffffffffffffff = forever)
    /// string    critical options: (string name, string data) ... sorted by name; data = string value, or empty
    /// string    extensions: (string name, string data) ... sorted by name; data empty
    /// string    reserved (empty)
    /// string    signature key (the CA public key blob)
    /// string    signature over everything above
    /// </code>
    /// </summary>
    public SshCertificate Issue(SshCertificateSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(spec.Key);
        ArgumentNullException.ThrowIfNull(spec.KeyId);
        ArgumentNullException.ThrowIfNull(spec.Principals);
        if (spec.Type is not (SshCertificateType.User or SshCertificateType.Host))
        {
            throw new ArgumentException($"certificate type {spec.Type} is neither User nor Host", nameof(spec));
        }

        var validAfter = SshCertificate.ToUnixSeconds(spec.ValidAfter);
        var validBefore = SshCertificate.ToUnixSeconds(spec.ValidBefore);
        if (validBefore <= validAfter)
        {
            throw new ArgumentException("ValidBefore must be later than ValidAfter", nameof(spec));
        }

        foreach (var principal in spec.Principals)
        {
            if (string.IsNullOrEmpty(principal))
            {
                throw new ArgumentException("a principal is null or empty", nameof(spec));
            }
        }

        var options = Sorted(spec.CriticalOptions?.Keys ?? [], "critical option");
        var extensions = Sorted(spec.Extensions ?? [], "extension");
        var keyType = spec.Key.KeyType;
        var certificateType = SshKeyAlgorithms.GetCertificateType(keyType);

        var writer = new SshWireWriter(stackalloc byte[StackBufferSize]);
        try
        {
            writer.WriteString(certificateType);
            writer.WriteUInt32(32);
            var nonce = writer.Reserve(32);
            RandomNumberGenerator.Fill(nonce);

            // The subject key fields: the key blob without its leading type string.
            writer.WriteRaw(spec.Key.BlobSpan[(4 + keyType.Length)..]);
            writer.WriteUInt64(spec.Serial);
            writer.WriteUInt32((uint)spec.Type);
            writer.WriteString(spec.KeyId);

            var principals = writer.BeginString();
            foreach (var principal in spec.Principals)
            {
                writer.WriteString(principal);
            }

            writer.EndString(principals);
            writer.WriteUInt64(validAfter);
            writer.WriteUInt64(validBefore);

            var criticalOptions = writer.BeginString();
            foreach (var name in options)
            {
                writer.WriteString(name);
                var value = spec.CriticalOptions![name];
                if (string.IsNullOrEmpty(value))
                {
                    writer.WriteUInt32(0);
                }
                else
                {
                    var data = writer.BeginString();
                    writer.WriteString(value);
                    writer.EndString(data);
                }
            }

            writer.EndString(criticalOptions);

            var extensionList = writer.BeginString();
            foreach (var name in extensions)
            {
                writer.WriteString(name);
                writer.WriteUInt32(0);
            }

            writer.EndString(extensionList);
            writer.WriteUInt32(0); // reserved
            writer.WriteString(_caKey.PublicKey.BlobSpan);
            var signedLength = writer.Length;

            // Room for the largest signature, so the signed bytes do not move while signing.
            writer.EnsureCapacity(MaxSignatureLength);

            var signature = writer.BeginString();
            _caKey.WriteSignature(ref writer, writer.Written[..signedLength]);
            writer.EndString(signature);

            var blob = writer.ToArray();
            var criticalOptionValues = new Dictionary<string, string>(options.Length, StringComparer.Ordinal);
            foreach (var name in options)
            {
                criticalOptionValues[name] = spec.CriticalOptions![name] ?? string.Empty;
            }

            return new SshCertificate(
                blob,
                certificateType,
                spec.Key,
                spec.Serial,
                spec.Type,
                spec.KeyId,
                [.. spec.Principals],
                validAfter,
                validBefore,
                criticalOptionValues,
                extensions,
                _caKey.PublicKey,
                signedLength,
                comment: null);
        }
        finally
        {
            writer.Dispose();
        }
    }

    private static string[] Sorted(IEnumerable<string> names, string what)
    {
        var sorted = names.ToArray();
        Array.Sort(sorted, StringComparer.Ordinal);
        for (var i = 0; i < sorted.Length; i++)
        {
            if (string.IsNullOrEmpty(sorted[i]))
            {
                throw new ArgumentException($"a {what} name is null or empty");
            }

            if (i > 0 && sorted[i] == sorted[i - 1])
            {
                throw new ArgumentException($"{what} '{sorted[i]}' is given twice");
            }
        }

        return sorted;
    }
}
