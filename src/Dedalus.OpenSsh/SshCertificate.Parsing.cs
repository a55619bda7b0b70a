using Dedalus.OpenSsh.Wire;

namespace Dedalus.OpenSsh;

/// <summary>Decoding of the certificate blob (PROTOCOL.certkeys), field by field, with checks.</summary>
public sealed partial class SshCertificate
{
    private static SshCertificate ParseBlob(byte[] blob, string? comment, string? expectedType)
    {
        var reader = new SshWireReader(blob);
        var certificateType = SshKeyBlob.ReadTypeName(ref reader, "certificate", "certificate type", expectedType);

        EnsureCertificateType(certificateType);
        SshKeyAlgorithms.TryGetKeyTypeOfCertificate(certificateType, out var keyType);

        reader.ReadString("nonce");

        // Subject key fields sit between the nonce and the serial; rebuild the plain key blob from them.
        var keyStart = reader.Position;
        var bits = SshKeyBlob.ReadKeyFields(ref reader, keyType);
        var keyFields = blob.AsSpan(keyStart, reader.Position - keyStart);
        var keyBlob = new byte[4 + keyType.Length + keyFields.Length];
        var keyWriter = new SshWireWriter(keyBlob);
        keyWriter.WriteString(keyType);
        keyWriter.WriteRaw(keyFields);
        var key = SshPublicKey.FromValidatedBlob(keyType, keyBlob, bits);

        var serial = reader.ReadUInt64("serial");
        var typeValue = reader.ReadUInt32("certificate role");
        if (typeValue is not (1 or 2))
        {
            throw new SshFormatException($"certificate role {typeValue} is neither user (1) nor host (2)");
        }

        var keyId = reader.ReadUtf8("key id");
        var principals = ReadPrincipals(reader.ReadString("principals"));
        var validAfter = reader.ReadUInt64("valid after");
        var validBefore = reader.ReadUInt64("valid before");
        var criticalOptions = ReadOptions(reader.ReadString("critical options"), "critical option", decodeValues: true);
        var extensionValues = ReadOptions(reader.ReadString("extensions"), "extension", decodeValues: false);
        reader.ReadString("reserved");
        var signatureKeyBlob = reader.ReadString("signature key");
        SshPublicKey signatureKey;
        try
        {
            signatureKey = SshPublicKey.FromBlob(signatureKeyBlob);
        }
        catch (SshFormatException ex)
        {
            throw new SshFormatException("signature key is invalid: " + ex.Message, ex);
        }

        var signedLength = reader.Position;
        var signature = reader.ReadString("signature");
        if (signature.IsEmpty)
        {
            throw new SshFormatException("signature is empty");
        }

        reader.EnsureEnd("certificate data");
        return new SshCertificate(
            blob,
            certificateType,
            key,
            serial,
            (SshCertificateType)typeValue,
            keyId,
            principals,
            validAfter,
            validBefore,
            criticalOptions,
            [.. extensionValues.Keys],
            signatureKey,
            signedLength,
            comment);
    }

    private static void EnsureCertificateType(string certificateType)
    {
        if (SshKeyAlgorithms.TryGetKeyTypeOfCertificate(certificateType, out _))
        {
            return;
        }

        if (certificateType == "ssh-dss-cert-v01@openssh.com")
        {
            throw new SshFormatException("DSA certificates (ssh-dss-cert-v01@openssh.com) are not accepted");
        }

        throw new SshFormatException(SshKeyAlgorithms.TryGetCertificateType(certificateType, out _)
            ? $"'{certificateType}' is a plain public key, but a certificate is expected"
            : $"unsupported certificate type '{SshKeyBlob.Printable(certificateType)}'");
    }

    private static string[] ReadPrincipals(ReadOnlySpan<byte> data)
    {
        var reader = new SshWireReader(data);
        var principals = new List<string>();
        while (!reader.IsEmpty)
        {
            principals.Add(reader.ReadUtf8("principal"));
        }

        return [.. principals];
    }

    /// <summary>
    /// Reads (string name, string data)* in strictly increasing name order, as PROTOCOL.certkeys
    /// requires. Critical option data is itself a string holding the value, or empty for a flag.
    /// </summary>
    private static SortedDictionary<string, string> ReadOptions(ReadOnlySpan<byte> data, string what, bool decodeValues)
    {
        var reader = new SshWireReader(data);
        var options = new SortedDictionary<string, string>(StringComparer.Ordinal);
        string? previous = null;
        while (!reader.IsEmpty)
        {
            var name = reader.ReadUtf8($"{what} name");
            if (previous is not null && string.CompareOrdinal(previous, name) >= 0)
            {
                throw new SshFormatException($"{what}s are not in strictly increasing order ('{SshKeyBlob.Printable(name)}' after '{SshKeyBlob.Printable(previous)}')");
            }

            previous = name;
            var value = reader.ReadString($"{what} '{SshKeyBlob.Printable(name)}' data");
            var text = string.Empty;
            if (decodeValues && !value.IsEmpty)
            {
                var inner = new SshWireReader(value);
                text = inner.ReadUtf8($"{what} '{SshKeyBlob.Printable(name)}' value");
                inner.EnsureEnd($"{what} '{SshKeyBlob.Printable(name)}' data");
            }

            options[name] = text;
        }

        return options;
    }
}
