using System.Security.Cryptography;
using System.Text;
using Dedalus.OpenSsh.Wire;
using NSec.Cryptography;

namespace Dedalus.OpenSsh;

/// <summary>The OpenSSH private key file format (PROTOCOL.key), unencrypted.</summary>
public sealed partial class SshPrivateKey
{
    private const string BeginMarker = "-----BEGIN OPENSSH PRIVATE KEY-----";
    private const string EndMarker = "-----END OPENSSH PRIVATE KEY-----";
    private const int BlockSize = 8;

    private static ReadOnlySpan<byte> AuthMagic => "openssh-key-v1\0"u8;

    /// <summary>
    /// Writes the key as an unencrypted OpenSSH private key file (PROTOCOL.key):
    /// <code>
    /// byte[15] "openssh-key-v1\0"
    /// string   ciphername "none"
    /// string   kdfname "none"
    /// string   kdfoptions ""
    /// uint32   number of keys (1)
    /// string   public key blob
    /// string   private section:
    ///     uint32 checkint, uint32 checkint (same random value)
    ///     string keytype, then per type:
    ///         ssh-ed25519:          string pk (32), string seed || pk (64)
    ///         ecdsa-sha2-nistp256:  string "nistp256", string Q, mpint d
    ///     string comment
    ///     byte   padding 1, 2, 3, ... up to a multiple of 8
    /// </code>
    /// armoured in PEM-like lines of 70 base64 characters.
    /// </summary>
    public string ToOpenSshFormat(string comment = "")
    {
        ArgumentNullException.ThrowIfNull(comment);
        var writer = new SshWireWriter(stackalloc byte[512]);
        try
        {
            writer.WriteRaw(AuthMagic);
            writer.WriteString("none");
            writer.WriteString("none");
            writer.WriteString(ReadOnlySpan<byte>.Empty);
            writer.WriteUInt32(1);
            writer.WriteString(PublicKey.BlobSpan);
            var privateSection = writer.BeginString();
            var check = (uint)RandomNumberGenerator.GetInt32(int.MaxValue);
            writer.WriteUInt32(check);
            writer.WriteUInt32(check);
            WritePrivateFields(ref writer);
            writer.WriteString(comment);
            var sectionLength = writer.Length - privateSection - 4;
            for (byte pad = 1; sectionLength % BlockSize != 0; pad++, sectionLength++)
            {
                writer.WriteByte(pad);
            }

            writer.EndString(privateSection);
            var base64 = Convert.ToBase64String(writer.Written);
            var text = new StringBuilder(base64.Length + 128);
            text.Append(BeginMarker).Append('\n');
            for (var i = 0; i < base64.Length; i += 70)
            {
                text.Append(base64, i, Math.Min(70, base64.Length - i)).Append('\n');
            }

            text.Append(EndMarker).Append('\n');
            return text.ToString();
        }
        finally
        {
            writer.Clear();
            writer.Dispose();
        }
    }

    /// <summary>
    /// Reads an unencrypted OpenSSH private key file (Ed25519 or ECDSA nistp256). Throws
    /// <see cref="SshFormatException"/> naming the problem, e.g. for an encrypted file.
    /// </summary>
    public static SshPrivateKey ParseOpenSshFormat(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (!trimmed.StartsWith(BeginMarker, StringComparison.Ordinal) || !trimmed.EndsWith(EndMarker, StringComparison.Ordinal))
        {
            throw new SshFormatException("not an OpenSSH private key (expected '" + BeginMarker + "')");
        }

        var base64 = trimmed[BeginMarker.Length..^EndMarker.Length];
        byte[] data;
        try
        {
            data = Convert.FromBase64String(base64);
        }
        catch (FormatException ex)
        {
            throw new SshFormatException("OpenSSH private key is not valid base64", ex);
        }

        try
        {
            return ParseBinary(data);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }

    private static SshPrivateKey ParseBinary(ReadOnlySpan<byte> data)
    {
        if (!data.StartsWith(AuthMagic))
        {
            throw new SshFormatException("not an OpenSSH private key (missing 'openssh-key-v1' magic)");
        }

        var reader = new SshWireReader(data[AuthMagic.Length..]);
        var cipher = reader.ReadUtf8("cipher name");
        var kdf = reader.ReadUtf8("kdf name");
        reader.ReadString("kdf options");
        if (cipher != "none" || kdf != "none")
        {
            throw new SshFormatException(
                $"the private key is encrypted (cipher {SshKeyBlob.Printable(cipher)}, kdf {SshKeyBlob.Printable(kdf)}); " +
                "encrypted keys are not supported, remove the passphrase with 'ssh-keygen -p'");
        }

        var count = reader.ReadUInt32("number of keys");
        if (count != 1)
        {
            throw new SshFormatException($"the private key file holds {count} keys; exactly 1 is supported");
        }

        var publicKey = SshPublicKey.FromBlob(reader.ReadString("public key"));
        var section = new SshWireReader(reader.ReadString("private key section"));
        reader.EnsureEnd("private key file");
        if (section.Remaining % BlockSize != 0)
        {
            throw new SshFormatException("private key section is not padded to a multiple of 8 bytes");
        }

        if (section.ReadUInt32("check int") != section.ReadUInt32("check int"))
        {
            throw new SshFormatException("private key check ints differ (corrupt or encrypted file)");
        }

        var type = section.ReadUtf8("private key type");
        if (type != publicKey.KeyType)
        {
            throw new SshFormatException($"private key type '{SshKeyBlob.Printable(type)}' does not match the public key '{publicKey.KeyType}'");
        }

        var key = type switch
        {
            SshKeyAlgorithms.Ed25519 => ReadEd25519(ref section),
            SshKeyAlgorithms.EcdsaNistP256 => ReadEcdsa(ref section),
            _ => throw new SshFormatException($"private key type '{type}' is not supported (ssh-ed25519 and ecdsa-sha2-nistp256 are)"),
        };
        try
        {
            var comment = section.ReadUtf8("comment");
            for (byte expected = 1; !section.IsEmpty; expected++)
            {
                if (section.ReadByte("padding") != expected)
                {
                    throw new SshFormatException("private key padding is invalid");
                }
            }

            if (!key.PublicKey.Equals(publicKey))
            {
                throw new SshFormatException("the private key does not match its public key");
            }

            var withComment = key._ed25519 is not null ? new SshPrivateKey(key._ed25519, comment) : new SshPrivateKey(key._ecdsa!, comment);
            return withComment;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static SshPrivateKey ReadEd25519(ref SshWireReader section)
    {
        var pk = section.ReadString("Ed25519 public key");
        var sk = section.ReadString("Ed25519 private key");
        if (pk.Length != 32 || sk.Length != 64 || !sk[32..].SequenceEqual(pk))
        {
            throw new SshFormatException("Ed25519 private key fields are malformed");
        }

        return new SshPrivateKey(Key.Import(SignatureAlgorithm.Ed25519, sk[..32], KeyBlobFormat.RawPrivateKey, Exportable()), comment: null);
    }

    private static SshPrivateKey ReadEcdsa(ref SshWireReader section)
    {
        var curve = section.ReadUtf8("ECDSA curve name");
        var q = section.ReadString("ECDSA public point");
        var d = section.ReadPositiveMPInt("ECDSA private scalar", 32);
        if (curve != "nistp256" || q.Length != 65 || q[0] != 0x04)
        {
            throw new SshFormatException("ECDSA private key fields are malformed");
        }

        var scalar = new byte[32];
        d.CopyTo(scalar.AsSpan(32 - d.Length));
        try
        {
            var parameters = new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = q.Slice(1, 32).ToArray(), Y = q.Slice(33, 32).ToArray() },
                D = scalar,
            };
            return new SshPrivateKey(ECDsa.Create(parameters), comment: null);
        }
        catch (CryptographicException ex)
        {
            throw new SshFormatException("ECDSA private key is invalid", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    private void WritePrivateFields(ref SshWireWriter writer)
    {
        writer.WriteString(KeyType);
        if (_ed25519 is not null)
        {
            var pk = _ed25519.PublicKey.Export(KeyBlobFormat.RawPublicKey);
            Span<byte> secret = stackalloc byte[64];
            if (!_ed25519.TryExport(KeyBlobFormat.RawPrivateKey, secret, out var written) || written != 32)
            {
                throw new CryptographicException("could not export the Ed25519 seed");
            }

            pk.CopyTo(secret[32..]);
            writer.WriteString(pk);
            writer.WriteString(secret);
            CryptographicOperations.ZeroMemory(secret);
            return;
        }

        var parameters = _ecdsa!.ExportParameters(includePrivateParameters: true);
        try
        {
            writer.WriteString("nistp256");
            WritePoint(ref writer, parameters.Q);
            writer.WriteMPInt(parameters.D);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
        }
    }
}
