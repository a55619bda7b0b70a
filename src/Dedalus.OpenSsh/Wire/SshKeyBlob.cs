using System.Numerics;
using System.Security.Cryptography;
using Dedalus.OpenSsh.Curves;

namespace Dedalus.OpenSsh.Wire;

/// <summary>
/// Validates the type-specific fields of a public key blob (RFC 4253 6.6, RFC 5656 3.1,
/// RFC 8709 4, PROTOCOL.u2f). The same fields appear after the type name in a key blob and
/// after the nonce in a certificate, so both parsers share this code.
/// <code>
/// ssh-ed25519:            string pk (32 bytes: a canonical point, not of small order; RFC 8032 5.1.3)
/// ecdsa-sha2-[curve]:     string curve ("nistp256" | "nistp384" | "nistp521"), string Q (0x04 || X || Y)
/// ssh-rsa:                mpint e, mpint n
/// sk-ssh-ed25519@...:     string pk (32 bytes, as above), string application ("ssh:...")
/// sk-ecdsa-sha2-nistp256@: string curve ("nistp256"), string Q, string application ("ssh:...")
/// </code>
/// </summary>
internal static class SshKeyBlob
{
    private const int MaxRsaBits = 16384;

    /// <summary>The prefix of an SSH security key's application (PROTOCOL.u2f).</summary>
    private const string SecurityKeyApplicationPrefix = "ssh:";

    private static readonly Lazy<CurveInfo> P256 = new(() => CurveInfo.Create(ECCurve.NamedCurves.nistP256, 256));
    private static readonly Lazy<CurveInfo> P384 = new(() => CurveInfo.Create(ECCurve.NamedCurves.nistP384, 384));
    private static readonly Lazy<CurveInfo> P521 = new(() => CurveInfo.Create(ECCurve.NamedCurves.nistP521, 521));

    /// <summary>
    /// Reads and validates the fields of <paramref name="keyType"/> (already known to be one of
    /// <see cref="SshKeyAlgorithms.KeyTypes"/>); returns the key size in bits.
    /// </summary>
    public static int ReadKeyFields(ref SshWireReader reader, string keyType)
    {
        switch (keyType)
        {
            case SshKeyAlgorithms.Ed25519:
                ReadEd25519(ref reader);
                return 256;
            case SshKeyAlgorithms.SkEd25519:
                ReadEd25519(ref reader);
                ReadApplication(ref reader);
                return 256;
            case SshKeyAlgorithms.EcdsaNistP256:
                return ReadEcdsa(ref reader, "nistp256");
            case SshKeyAlgorithms.EcdsaNistP384:
                return ReadEcdsa(ref reader, "nistp384");
            case SshKeyAlgorithms.EcdsaNistP521:
                return ReadEcdsa(ref reader, "nistp521");
            case SshKeyAlgorithms.SkEcdsaNistP256:
                var bits = ReadEcdsa(ref reader, "nistp256");
                ReadApplication(ref reader);
                return bits;
            case SshKeyAlgorithms.Rsa:
                return ReadRsa(ref reader);
            default:
                throw new SshFormatException($"unsupported key type '{keyType}'");
        }
    }

    /// <summary>Checks a key type name read from a blob and gives the refusal message for it.</summary>
    public static void EnsureAcceptedKeyType(string type)
    {
        if (type == "ssh-dss")
        {
            throw new SshFormatException(
                "DSA keys (ssh-dss) are not accepted; use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa of at least 2048 bits");
        }

        if (SshKeyAlgorithms.IsCertificateType(type))
        {
            throw new SshFormatException($"'{type}' is a certificate, but a plain public key is expected");
        }

        if (!SshKeyAlgorithms.TryGetCertificateType(type, out _))
        {
            throw new SshFormatException($"unsupported key type '{Printable(type)}'");
        }
    }

    /// <summary>Shortens and cleans a name from untrusted input before it goes into a message.</summary>
    /// <summary>
    /// Reads the type name that opens a key or certificate blob (<paramref name="what"/>: "key" or "certificate"); when
    /// the text line named a type (<paramref name="expectedType"/>), the blob must hold the same one.
    /// </summary>
    public static string ReadTypeName(ref SshWireReader reader, string what, string field, string? expectedType)
    {
        var type = reader.ReadUtf8(field);
        return expectedType is null || type == expectedType
            ? type
            : throw new SshFormatException($"{what} type '{Printable(expectedType)}' does not match the {what} data, which holds '{Printable(type)}'");
    }

    public static string Printable(string value)
    {
        var clean = new string([.. value.Take(64).Select(c => char.IsControl(c) ? '?' : c)]);
        return value.Length > 64 ? clean + "..." : clean;
    }

    private static void ReadEd25519(ref SshWireReader reader)
    {
        var pk = reader.ReadString("Ed25519 public key");
        if (pk.Length != Ed25519Point.EncodedLength)
        {
            throw new SshFormatException($"Ed25519 public key is {pk.Length} bytes; {Ed25519Point.EncodedLength} expected");
        }

        EnsureLargeOrderEd25519Point(pk);
    }

    /// <summary>
    /// An Ed25519 public key must be a canonically encoded point of the curve (RFC 8032 5.1.3) outside the small torsion
    /// subgroup: for a small-order key (the all-zero key, the identity 0x01 00..00, the other six torsion points) a
    /// signature verifies for some message whatever the signer knows, so anyone can sign for it. Real keys are multiples
    /// of the base point and pass.
    /// </summary>
    private static void EnsureLargeOrderEd25519Point(ReadOnlySpan<byte> pk)
    {
        var decoding = Ed25519Point.TryDecode(pk, out var point);
        switch (decoding)
        {
            case Ed25519Decoding.Decoded:
                break;
            case Ed25519Decoding.NotOnCurve:
                throw new SshFormatException("Ed25519 public key is not a point of the curve (RFC 8032 5.1.3); generate a real key with ssh-keygen -t ed25519");
            default:
                throw new SshFormatException("Ed25519 public key is not a canonical point encoding (RFC 8032 5.1.3); generate a real key with ssh-keygen -t ed25519");
        }

        if (point.SmallOrder() is var order and > 0)
        {
            throw new SshFormatException(
                $"Ed25519 public key is a small-order point (order {order}; the all-zero key and the identity are such points), " +
                "for which anyone can make signatures; generate a real key with ssh-keygen -t ed25519");
        }
    }

    /// <summary>
    /// The application of a security key: OpenSSH enrolls keys for <c>ssh:</c> applications (PROTOCOL.u2f; ssh-keygen
    /// refuses any other). A key enrolled for a web origin (<c>https://...</c>) is a WebAuthn credential of a website, not
    /// an SSH key, and its signatures may be obtained through that website.
    /// </summary>
    private static void ReadApplication(ref SshWireReader reader)
    {
        var application = reader.ReadUtf8("security key application");
        if (application.Length == 0)
        {
            throw new SshFormatException("security key application is empty");
        }

        if (!application.StartsWith(SecurityKeyApplicationPrefix, StringComparison.Ordinal))
        {
            throw new SshFormatException(
                $"security key application '{Printable(application)}' does not start with '{SecurityKeyApplicationPrefix}': only keys enrolled for SSH " +
                "(ssh-keygen -t ed25519-sk or ecdsa-sk) are accepted, not credentials of a website");
        }
    }

    private static int ReadEcdsa(ref SshWireReader reader, string expectedCurve)
    {
        var curve = reader.ReadString("ECDSA curve name");
        if (!curve.SequenceEqual(System.Text.Encoding.ASCII.GetBytes(expectedCurve)))
        {
            throw new SshFormatException($"ECDSA curve name does not match the key type (expected {expectedCurve})");
        }

        var info = expectedCurve switch
        {
            "nistp256" => P256.Value,
            "nistp384" => P384.Value,
            _ => P521.Value,
        };
        var q = reader.ReadString("ECDSA public point");
        if (q.Length != 1 + (2 * info.CoordinateLength) || q[0] != 0x04)
        {
            throw new SshFormatException($"ECDSA public point is not an uncompressed {expectedCurve} point");
        }

        var x = new BigInteger(q.Slice(1, info.CoordinateLength), isUnsigned: true, isBigEndian: true);
        var y = new BigInteger(q.Slice(1 + info.CoordinateLength), isUnsigned: true, isBigEndian: true);
        if (!info.IsOnCurve(x, y))
        {
            throw new SshFormatException($"ECDSA public point is not on curve {expectedCurve}");
        }

        return info.Bits;
    }

    private static int ReadRsa(ref SshWireReader reader)
    {
        var e = reader.ReadPositiveMPInt("RSA public exponent", 64);
        var n = reader.ReadPositiveMPInt("RSA modulus", (MaxRsaBits / 8) + 1);
        if (e.Length == 0 || (e[^1] & 1) == 0 || (e.Length == 1 && e[0] < 3))
        {
            throw new SshFormatException("RSA public exponent is invalid (it must be odd and at least 3)");
        }

        var bits = n.Length == 0 ? 0 : ((n.Length - 1) * 8) + (32 - BitOperations.LeadingZeroCount((uint)n[0]));
        if (bits < SshKeyAlgorithms.MinimumRsaBits)
        {
            throw new SshFormatException($"RSA key is {bits} bits; at least {SshKeyAlgorithms.MinimumRsaBits} bits are required");
        }

        if (bits > MaxRsaBits)
        {
            throw new SshFormatException($"RSA key is {bits} bits; at most {MaxRsaBits} bits are supported");
        }

        return bits;
    }

    private sealed record CurveInfo(int Bits, int CoordinateLength, BigInteger P, BigInteger A, BigInteger B)
    {
        public static CurveInfo Create(ECCurve curve, int bits)
        {
            using var ecdsa = ECDsa.Create(curve);
            var parameters = ecdsa.ExportExplicitParameters(includePrivateParameters: false);
            var explicitCurve = parameters.Curve;
            return new CurveInfo(
                bits,
                (bits + 7) / 8,
                new BigInteger(explicitCurve.Prime, isUnsigned: true, isBigEndian: true),
                new BigInteger(explicitCurve.A, isUnsigned: true, isBigEndian: true),
                new BigInteger(explicitCurve.B, isUnsigned: true, isBigEndian: true));
        }

        /// <summary>0 &lt;= x, y &lt; p and y^2 = x^3 + ax + b (mod p); the point at infinity has no affine form.</summary>
        public bool IsOnCurve(BigInteger x, BigInteger y)
        {
            if (x >= P || y >= P)
            {
                return false;
            }

            var left = BigInteger.ModPow(y, 2, P);
            var right = (BigInteger.ModPow(x, 3, P) + (A * x) + B) % P;
            return left == right;
        }
    }
}
