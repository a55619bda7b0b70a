using System.Security.Cryptography;
using Dedalus.OpenSsh.Wire;
using NSec.Cryptography;

namespace Dedalus.OpenSsh;

/// <summary>
/// A private key that can sign certificates and revocation lists: Ed25519 (through NSec /
/// libsodium) or ECDSA nistp256 (through System.Security.Cryptography). Holds secret material:
/// dispose it when done. Reads and writes the unencrypted OpenSSH private key format
/// ("openssh-key-v1") that <c>ssh -i</c> and <c>ssh-keygen -y</c> accept.
/// </summary>
public sealed partial class SshPrivateKey : IDisposable
{
    /// <summary>Draws before a generated or derived key is kept whatever it is (each draw is misread with p = 1/512).</summary>
    private const int MaxDraws = 32;

    private readonly Key? _ed25519;
    private readonly ECDsa? _ecdsa;

    private SshPrivateKey(Key ed25519, string? comment)
    {
        _ed25519 = ed25519;
        Comment = comment;
        var writer = new SshWireWriter(stackalloc byte[64]);
        try
        {
            writer.WriteString(SshKeyAlgorithms.Ed25519);
            writer.WriteString(ed25519.PublicKey.Export(KeyBlobFormat.RawPublicKey));
            PublicKey = SshPublicKey.FromValidatedBlob(SshKeyAlgorithms.Ed25519, writer.ToArray(), 256);
        }
        finally
        {
            writer.Dispose();
        }
    }

    private SshPrivateKey(ECDsa ecdsa, string? comment)
    {
        _ecdsa = ecdsa;
        Comment = comment;
        var parameters = ecdsa.ExportParameters(includePrivateParameters: false);
        var writer = new SshWireWriter(stackalloc byte[128]);
        try
        {
            writer.WriteString(SshKeyAlgorithms.EcdsaNistP256);
            writer.WriteString("nistp256");
            WritePoint(ref writer, parameters.Q);
            PublicKey = SshPublicKey.FromValidatedBlob(SshKeyAlgorithms.EcdsaNistP256, writer.ToArray(), 256);
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>The public half.</summary>
    public SshPublicKey PublicKey { get; }

    /// <summary>The key type name (ssh-ed25519 or ecdsa-sha2-nistp256).</summary>
    public string KeyType => PublicKey.KeyType;

    /// <summary>The comment read from a private key file, if any.</summary>
    public string? Comment { get; }

    /// <summary>
    /// Generates a new Ed25519 key pair whose public key every SSH library reads back intact (see
    /// <see cref="SshPublicKey.IsMisreadBySignedIntegerParsers"/>): a key that one of them would misread is drawn again.
    /// </summary>
    public static SshPrivateKey GenerateEd25519()
    {
        for (var attempt = 0; ; attempt++)
        {
            var key = new SshPrivateKey(Key.Create(SignatureAlgorithm.Ed25519, Exportable()), comment: null);
            if (attempt >= MaxDraws || !key.PublicKey.IsMisreadBySignedIntegerParsers)
            {
                return key;
            }

            key.Dispose();
        }
    }

    /// <summary>Generates a new ECDSA nistp256 key pair.</summary>
    public static SshPrivateKey GenerateEcdsaNistP256() =>
        new(ECDsa.Create(ECCurve.NamedCurves.nistP256), comment: null);

    /// <summary>An Ed25519 key from its 32-byte seed (the RFC 8032 private key).</summary>
    public static SshPrivateKey FromEd25519Seed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32)
        {
            throw new ArgumentException("an Ed25519 seed is 32 bytes", nameof(seed));
        }

        return new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, Exportable()), comment: null);
    }

    /// <summary>
    /// A new Ed25519 key whose seed is HKDF-SHA256 (RFC 5869) of this key's Ed25519 seed with <paramref name="salt"/> and
    /// <paramref name="info"/>: the same key, salt and info always give the same key, and knowing a derived key (or
    /// many) reveals neither this key nor the keys derived for another <paramref name="info"/>. Lets one stored secret
    /// stand for a family of keys (one per machine, say) that need no storage of their own. The seed never leaves this
    /// object; only an Ed25519 key derives.
    /// </summary>
    /// <exception cref="InvalidOperationException">This key is not Ed25519.</exception>
    public SshPrivateKey DeriveEd25519(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info)
    {
        var ed25519 = _ed25519 ?? throw new InvalidOperationException($"only an Ed25519 key derives keys, not {KeyType}");
        Span<byte> seed = stackalloc byte[32];
        Span<byte> derived = stackalloc byte[32];
        try
        {
            if (!ed25519.TryExport(KeyBlobFormat.RawPrivateKey, seed, out var written) || written != 32)
            {
                throw new CryptographicException("could not export the Ed25519 seed");
            }

            // A derived key that some SSH library would misread (see SshPublicKey.IsMisreadBySignedIntegerParsers) is
            // derived again with a draw counter after the info: still a function of key, salt and info alone.
            var drawInfo = new byte[info.Length + 1];
            info.CopyTo(drawInfo);
            for (var draw = 0; ; draw++)
            {
                ReadOnlySpan<byte> input = draw == 0 ? info : drawInfo;
                drawInfo[^1] = (byte)draw;
                HKDF.DeriveKey(HashAlgorithmName.SHA256, seed, derived, salt, input);
                var key = FromEd25519Seed(derived);
                if (draw >= MaxDraws || !key.PublicKey.IsMisreadBySignedIntegerParsers)
                {
                    return key;
                }

                key.Dispose();
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
            CryptographicOperations.ZeroMemory(derived);
        }
    }

    /// <summary>
    /// A secret of <paramref name="length"/> bytes derived like <see cref="DeriveEd25519"/> (HKDF-SHA256 over the seed),
    /// for a keyed MAC: one stored key stands for it, and the secret reveals nothing of the key.
    /// </summary>
    /// <exception cref="InvalidOperationException">This key is not Ed25519.</exception>
    public byte[] DeriveSecret(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, int length = 32)
    {
        var ed25519 = _ed25519 ?? throw new InvalidOperationException($"only an Ed25519 key derives secrets, not {KeyType}");
        Span<byte> seed = stackalloc byte[32];
        try
        {
            if (!ed25519.TryExport(KeyBlobFormat.RawPrivateKey, seed, out var written) || written != 32)
            {
                throw new CryptographicException("could not export the Ed25519 seed");
            }

            var derived = new byte[length];
            HKDF.DeriveKey(HashAlgorithmName.SHA256, seed, derived, salt, info);
            return derived;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>Signs <paramref name="data"/> and returns the SSH signature blob (RFC 8709 6, RFC 5656 3.1.2).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        var writer = new SshWireWriter(stackalloc byte[160]);
        try
        {
            WriteSignature(ref writer, data);
            return writer.ToArray();
        }
        finally
        {
            writer.Dispose();
        }
    }

    public void Dispose()
    {
        _ed25519?.Dispose();
        _ecdsa?.Dispose();
    }

    /// <summary>
    /// Writes the signature blob (without an outer length):
    /// <code>
    /// ssh-ed25519 (RFC 8709 6):        string "ssh-ed25519", string signature (64 bytes)
    /// ecdsa-sha2-nistp256 (RFC 5656):  string "ecdsa-sha2-nistp256", string (mpint r, mpint s); SHA-256
    /// </code>
    /// </summary>
    internal void WriteSignature(ref SshWireWriter writer, scoped ReadOnlySpan<byte> data)
    {
        if (_ed25519 is not null)
        {
            writer.WriteString(SshKeyAlgorithms.Ed25519);
            writer.WriteUInt32(64);
            SignatureAlgorithm.Ed25519.Sign(_ed25519, data, writer.Reserve(64));
            return;
        }

        var ecdsa = _ecdsa ?? throw new ObjectDisposedException(nameof(SshPrivateKey));
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(data, hash);
        Span<byte> rs = stackalloc byte[64];
        if (!ecdsa.TrySignHash(hash, rs, DSASignatureFormat.IeeeP1363FixedFieldConcatenation, out var written) || written != 64)
        {
            throw new CryptographicException("ECDSA signing failed");
        }

        writer.WriteString(SshKeyAlgorithms.EcdsaNistP256);
        var inner = writer.BeginString();
        writer.WriteMPInt(rs[..32]);
        writer.WriteMPInt(rs[32..]);
        writer.EndString(inner);
    }

    private static KeyCreationParameters Exportable() => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    private static void WritePoint(ref SshWireWriter writer, ECPoint q)
    {
        var x = q.X!;
        var y = q.Y!;
        writer.WriteUInt32((uint)(1 + x.Length + y.Length));
        writer.WriteByte(0x04);
        writer.WriteRaw(x);
        writer.WriteRaw(y);
    }
}
