using System.Security.Cryptography;
using NSec.Cryptography;

namespace Dedalus.OpenSsh.Wire;

/// <summary>
/// Verifies SSH signature blobs:
/// <code>
/// ssh-ed25519 (RFC 8709 6):                  string "ssh-ed25519", string signature (64)
/// ecdsa-sha2-nistpN (RFC 5656 3.1.2):        string name, string (mpint r, mpint s); SHA-256/384/512
/// rsa-sha2-256 / rsa-sha2-512 (RFC 8332 3):  string name, string signature (PKCS#1 v1.5)
/// </code>
/// SHA-1 "ssh-rsa" signatures and security-key (sk-) CAs are not verified (false).
/// </summary>
internal static class SshSignatureVerifier
{
    public static bool Verify(SshPublicKey signer, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signatureBlob)
    {
        try
        {
            var reader = new SshWireReader(signatureBlob);
            var algorithm = reader.ReadUtf8("signature algorithm");
            var signature = reader.ReadString("signature");
            if (!reader.IsEmpty)
            {
                return false;
            }

            var key = new SshWireReader(signer.BlobSpan);
            key.ReadString("key type");
            return (signer.KeyType, algorithm) switch
            {
                (SshKeyAlgorithms.Ed25519, SshKeyAlgorithms.Ed25519) => VerifyEd25519(key.ReadString("key"), data, signature),
                (SshKeyAlgorithms.EcdsaNistP256, SshKeyAlgorithms.EcdsaNistP256) => VerifyEcdsa(ref key, ECCurve.NamedCurves.nistP256, HashAlgorithmName.SHA256, 32, data, signature),
                (SshKeyAlgorithms.EcdsaNistP384, SshKeyAlgorithms.EcdsaNistP384) => VerifyEcdsa(ref key, ECCurve.NamedCurves.nistP384, HashAlgorithmName.SHA384, 48, data, signature),
                (SshKeyAlgorithms.EcdsaNistP521, SshKeyAlgorithms.EcdsaNistP521) => VerifyEcdsa(ref key, ECCurve.NamedCurves.nistP521, HashAlgorithmName.SHA512, 66, data, signature),
                (SshKeyAlgorithms.Rsa, "rsa-sha2-256") => VerifyRsa(ref key, HashAlgorithmName.SHA256, data, signature),
                (SshKeyAlgorithms.Rsa, "rsa-sha2-512") => VerifyRsa(ref key, HashAlgorithmName.SHA512, data, signature),
                _ => false,
            };
        }
        catch (SshFormatException)
        {
            return false;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool VerifyEd25519(ReadOnlySpan<byte> rawKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 64 ||
            !NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, rawKey, KeyBlobFormat.RawPublicKey, out var publicKey) ||
            publicKey is null)
        {
            return false;
        }

        return SignatureAlgorithm.Ed25519.Verify(publicKey, data, signature);
    }

    private static bool VerifyEcdsa(
        ref SshWireReader key,
        ECCurve curve,
        HashAlgorithmName hash,
        int fieldLength,
        ReadOnlySpan<byte> data,
        ReadOnlySpan<byte> signature)
    {
        key.ReadString("curve");
        var q = key.ReadString("point");
        var inner = new SshWireReader(signature);
        var r = inner.ReadPositiveMPInt("r", fieldLength);
        var s = inner.ReadPositiveMPInt("s", fieldLength);
        if (!inner.IsEmpty)
        {
            return false;
        }

        Span<byte> rs = stackalloc byte[2 * fieldLength];
        rs.Clear();
        r.CopyTo(rs[(fieldLength - r.Length)..fieldLength]);
        s.CopyTo(rs[(2 * fieldLength - s.Length)..]);
        using var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = curve,
            Q = new ECPoint { X = q.Slice(1, fieldLength).ToArray(), Y = q.Slice(1 + fieldLength, fieldLength).ToArray() },
        });
        return ecdsa.VerifyData(data, rs, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    private static bool VerifyRsa(ref SshWireReader key, HashAlgorithmName hash, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        var e = key.ReadPositiveMPInt("e", 64);
        var n = key.ReadPositiveMPInt("n", 2049);
        if (signature.Length > n.Length)
        {
            return false;
        }

        // OpenSSH accepts signatures shorter than the modulus; PKCS#1 wants them left-padded.
        var padded = new byte[n.Length];
        signature.CopyTo(padded.AsSpan(n.Length - signature.Length));
        using var rsa = RSA.Create(new RSAParameters { Exponent = e.ToArray(), Modulus = n.ToArray() });
        return rsa.VerifyData(data, padded, hash, RSASignaturePadding.Pkcs1);
    }
}
