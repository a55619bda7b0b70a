using System.Diagnostics.CodeAnalysis;

namespace Dedalus.OpenSsh;

/// <summary>
/// An OpenSSH certificate (PROTOCOL.certkeys): issued by <see cref="SshCertificateAuthority"/> or
/// parsed from a <c>*-cert.pub</c> line. Immutable.
/// </summary>
public sealed partial class SshCertificate
{
    private const long MaxUnixSeconds = 253402300799; // 9999-12-31T23:59:59Z, the end of DateTimeOffset

    private readonly byte[] _blob;
    private readonly int _signedLength;

    internal SshCertificate(
        byte[] blob,
        string certificateType,
        SshPublicKey key,
        ulong serial,
        SshCertificateType type,
        string keyId,
        IReadOnlyList<string> principals,
        ulong validAfter,
        ulong validBefore,
        IReadOnlyDictionary<string, string> criticalOptions,
        IReadOnlyList<string> extensions,
        SshPublicKey signatureKey,
        int signedLength,
        string? comment)
    {
        _blob = blob;
        CertificateType = certificateType;
        Key = key;
        Serial = serial;
        Type = type;
        KeyId = keyId;
        Principals = principals;
        ValidAfterUnixSeconds = validAfter;
        ValidBeforeUnixSeconds = validBefore;
        CriticalOptions = criticalOptions;
        Extensions = extensions;
        SignatureKey = signatureKey;
        _signedLength = signedLength;
        Comment = comment;
    }

    /// <summary>The certificate type name, e.g. <c>ssh-ed25519-cert-v01@openssh.com</c>.</summary>
    public string CertificateType { get; }

    /// <summary>The certified (subject) public key.</summary>
    public SshPublicKey Key { get; }

    /// <summary>The random nonce the CA put first in the signed data.</summary>
    public ReadOnlyMemory<byte> Nonce
    {
        get
        {
            var at = 4 + CertificateType.Length;
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(_blob.AsSpan(at));
            return _blob.AsMemory(at + 4, length);
        }
    }

    public ulong Serial { get; }

    public SshCertificateType Type { get; }

    public string KeyId { get; }

    public IReadOnlyList<string> Principals { get; }

    /// <summary>Start of validity as stored (seconds since the Unix epoch).</summary>
    public ulong ValidAfterUnixSeconds { get; }

    /// <summary>End of validity as stored (0xffffffffffffffff = forever).</summary>
    public ulong ValidBeforeUnixSeconds { get; }

    /// <summary>Start of validity.</summary>
    public DateTimeOffset ValidAfter => FromUnixSeconds(ValidAfterUnixSeconds);

    /// <summary>End of validity; <see cref="DateTimeOffset.MaxValue"/> for "forever".</summary>
    public DateTimeOffset ValidBefore => FromUnixSeconds(ValidBeforeUnixSeconds);

    /// <summary>Critical options by name, with their decoded string values (empty for flags).</summary>
    public IReadOnlyDictionary<string, string> CriticalOptions { get; }

    /// <summary>Extension names, in certificate (sorted) order.</summary>
    public IReadOnlyList<string> Extensions { get; }

    /// <summary>The CA key that signed the certificate.</summary>
    public SshPublicKey SignatureKey { get; }

    /// <summary>The whole certificate blob (what the base64 of a -cert.pub line holds).</summary>
    public ReadOnlyMemory<byte> Blob => _blob;

    /// <summary>The signature blob (algorithm name and signature).</summary>
    public ReadOnlyMemory<byte> Signature => _blob.AsMemory(_signedLength + 4);

    /// <summary>The comment of the parsed line, if any.</summary>
    public string? Comment { get; }

    /// <summary>The SHA256 fingerprint of the certified key.</summary>
    public string Fingerprint => Key.Fingerprint;

    /// <summary>The one-line <c>*-cert.pub</c> form: <c>cert-type base64 [comment]</c>.</summary>
    public string ToOpenSshString(string? comment = null) =>
        string.IsNullOrEmpty(comment)
            ? CertificateType + " " + Convert.ToBase64String(_blob)
            : CertificateType + " " + Convert.ToBase64String(_blob) + " " + comment;

    public override string ToString() => ToOpenSshString(Comment);

    /// <summary>Whether <see cref="SignatureKey"/> signed this certificate (Ed25519, ECDSA and RSA CAs).</summary>
    public bool VerifySignature() =>
        Wire.SshSignatureVerifier.Verify(SignatureKey, _blob.AsSpan(0, _signedLength), _blob.AsSpan(_signedLength + 4));

    /// <summary>Whether the certificate is valid at <paramref name="now"/> (valid after &lt;= now &lt; valid before, as sshd checks).</summary>
    public bool IsValidAt(DateTimeOffset now)
    {
        var seconds = ToUnixSeconds(now);
        return seconds >= ValidAfterUnixSeconds && seconds < ValidBeforeUnixSeconds;
    }

    /// <summary>Parses a <c>cert-type base64 [comment]</c> line; throws <see cref="SshFormatException"/> naming the problem.</summary>
    public static SshCertificate Parse(string line)
    {
        Wire.SshTextLine.Split(line, "certificate", EnsureCertificateType, out var type, out var blob, out var comment);
        return ParseBlob(blob, comment, type);
    }

    /// <summary>Parses a <c>cert-type base64 [comment]</c> line; on failure returns false and a message naming the problem.</summary>
    public static bool TryParse(
        string line,
        [NotNullWhen(true)] out SshCertificate? cert,
        [NotNullWhen(false)] out string? error) =>
        SshFormatException.Try(() => Parse(line), out cert, out error);

    /// <summary>Parses a certificate blob; throws <see cref="SshFormatException"/> naming the problem.</summary>
    public static SshCertificate FromBlob(ReadOnlySpan<byte> blob, string? comment = null) =>
        ParseBlob(blob.ToArray(), comment, expectedType: null);

    /// <summary>Parses a certificate blob; on failure returns false and a message naming the problem.</summary>
    public static bool TryFromBlob(
        ReadOnlySpan<byte> blob,
        [NotNullWhen(true)] out SshCertificate? cert,
        [NotNullWhen(false)] out string? error)
    {
        var copy = blob.ToArray();
        return SshFormatException.Try(() => ParseBlob(copy, comment: null, expectedType: null), out cert, out error);
    }

    internal static ulong ToUnixSeconds(DateTimeOffset time) =>
        time == DateTimeOffset.MaxValue ? ulong.MaxValue : (ulong)Math.Max(0, time.ToUnixTimeSeconds());

    internal static DateTimeOffset FromUnixSeconds(ulong seconds) =>
        seconds > MaxUnixSeconds ? DateTimeOffset.MaxValue : DateTimeOffset.FromUnixTimeSeconds((long)seconds);
}
