using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Dedalus.OpenSsh.Wire;

namespace Dedalus.OpenSsh;

/// <summary>
/// An accepted OpenSSH public key (never a certificate): ssh-ed25519, ecdsa-sha2-nistp256/384/521,
/// ssh-rsa of at least 2048 bits, sk-ssh-ed25519@openssh.com or sk-ecdsa-sha2-nistp256@openssh.com.
/// Immutable; equality compares the key blob (not the comment).
/// </summary>
public sealed class SshPublicKey : IEquatable<SshPublicKey>
{
    private readonly byte[] _blob;
    private string? _fingerprint;

    private SshPublicKey(string keyType, byte[] blob, int bits, string? comment)
    {
        KeyType = keyType;
        _blob = blob;
        Bits = bits;
        Comment = comment;
    }

    /// <summary>
    /// Whether this is an Ed25519 key that SSH libraries reading the 32 key bytes as a signed big-endian integer get
    /// wrong: SSH.NET (which our SDK uses) does, and drops a leading 0xFF byte followed by a byte of 0x80 or more (a
    /// redundant sign byte to it), so it cannot pair such a key with its certificate, verify a host's signature made with
    /// it, or verify a certificate signed by it. About one Ed25519 key in 512 has that prefix; the keys this library
    /// generates or derives never do.
    /// </summary>
    public bool IsMisreadBySignedIntegerParsers =>
        KeyType == SshKeyAlgorithms.Ed25519 && _blob.Length >= 32 && _blob[^32] == 0xFF && _blob[^31] >= 0x80;

    /// <summary>The key type name, e.g. <c>ssh-ed25519</c>.</summary>
    public string KeyType { get; }

    /// <summary>The key blob in SSH wire encoding (what the base64 of a .pub line holds).</summary>
    public ReadOnlyMemory<byte> Blob => _blob;

    /// <summary>The key size in bits (256 for Ed25519, the curve size for ECDSA, the modulus size for RSA).</summary>
    public int Bits { get; }

    /// <summary>The comment of the parsed line, if any.</summary>
    public string? Comment { get; }

    /// <summary>The SHA256 fingerprint as <c>ssh-keygen -l -E sha256</c> prints it: <c>SHA256:</c> + unpadded base64.</summary>
    public string Fingerprint => _fingerprint ??= ComputeFingerprint(_blob);

    /// <summary>Parses a <c>type base64 [comment]</c> line; throws <see cref="SshFormatException"/> naming the problem.</summary>
    public static SshPublicKey Parse(string line)
    {
        SshTextLine.Split(line, "public key", SshKeyBlob.EnsureAcceptedKeyType, out var type, out var blob, out var comment);
        return FromBlobCore(blob, comment, type);
    }

    /// <summary>Parses a <c>type base64 [comment]</c> line; on failure returns false and a message naming the problem.</summary>
    public static bool TryParse(
        string line,
        [NotNullWhen(true)] out SshPublicKey? key,
        [NotNullWhen(false)] out string? error) =>
        SshFormatException.Try(() => Parse(line), out key, out error);

    /// <summary>Reads a key from its wire blob; throws <see cref="SshFormatException"/> naming the problem.</summary>
    public static SshPublicKey FromBlob(ReadOnlySpan<byte> blob, string? comment = null) =>
        FromBlobCore(blob.ToArray(), comment, expectedType: null);

    /// <summary>The <c>type base64</c> form, without comment.</summary>
    public string ToOpenSshString() => KeyType + " " + Convert.ToBase64String(_blob);

    /// <summary>The <c>type base64 comment</c> form (no comment when it is null or empty).</summary>
    public string ToOpenSshString(string? comment) =>
        string.IsNullOrEmpty(comment) ? ToOpenSshString() : ToOpenSshString() + " " + comment;

    /// <summary>This key with another comment.</summary>
    public SshPublicKey WithComment(string? comment) => new(KeyType, _blob, Bits, comment);

    public bool Equals(SshPublicKey? other) =>
        other is not null && _blob.AsSpan().SequenceEqual(other._blob);

    public override bool Equals(object? obj) => Equals(obj as SshPublicKey);

    public override int GetHashCode()
    {
        var hash = default(HashCode);
        hash.AddBytes(_blob);
        return hash.ToHashCode();
    }

    public override string ToString() => ToOpenSshString(Comment);

    internal ReadOnlySpan<byte> BlobSpan => _blob;

    /// <summary>Builds a key from a blob already validated by the certificate parser.</summary>
    internal static SshPublicKey FromValidatedBlob(string keyType, byte[] blob, int bits) => new(keyType, blob, bits, null);

    private static SshPublicKey FromBlobCore(byte[] blob, string? comment, string? expectedType)
    {
        var reader = new SshWireReader(blob);
        var blobType = SshKeyBlob.ReadTypeName(ref reader, "key", "key type in the key data", expectedType);

        SshKeyBlob.EnsureAcceptedKeyType(blobType);
        var bits = SshKeyBlob.ReadKeyFields(ref reader, blobType);
        reader.EnsureEnd("key data");
        return new SshPublicKey(blobType, blob, bits, comment);
    }

    private static string ComputeFingerprint(ReadOnlySpan<byte> blob)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(blob, hash);
        Span<char> chars = stackalloc char[7 + 44];
        "SHA256:".CopyTo(chars);
        Convert.TryToBase64Chars(hash, chars[7..], out var written);
        return new string(chars[..(7 + written)].TrimEnd('='));
    }
}
