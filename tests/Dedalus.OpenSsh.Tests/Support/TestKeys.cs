using System.Security.Cryptography;
using System.Text;
using Dedalus.OpenSsh.Wire;

namespace Dedalus.OpenSsh.Tests.Support;

/// <summary>Hand-built key and certificate blobs for cases no tool makes (security keys, refused and malformed keys).</summary>
internal static class TestKeys
{
    /// <summary>sk-ssh-ed25519@openssh.com: string type, string pk (32), string application.</summary>
    public static string SkEd25519Line(string application = "ssh:", string comment = "sk-ed25519-test")
    {
        using var key = SshPrivateKey.GenerateEd25519();
        var pk = key.PublicKey.Blob[^32..].ToArray();
        return Line(w =>
        {
            w.WriteString(SshKeyAlgorithms.SkEd25519);
            w.WriteString(pk);
            w.WriteString(application);
        }, SshKeyAlgorithms.SkEd25519, comment);
    }

    /// <summary>sk-ecdsa-sha2-nistp256@openssh.com: string type, string "nistp256", string Q (a real curve point), string application.</summary>
    public static string SkEcdsaLine(string application = "ssh:", string comment = "sk-ecdsa-test")
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = ecdsa.ExportParameters(false).Q;
        return Line(w =>
        {
            w.WriteString(SshKeyAlgorithms.SkEcdsaNistP256);
            w.WriteString("nistp256");
            w.WriteString([0x04, .. q.X!, .. q.Y!]);
            w.WriteString(application);
        }, SshKeyAlgorithms.SkEcdsaNistP256, comment);
    }

    /// <summary>ssh-rsa with a modulus of the given size (for the refusal of short keys).</summary>
    public static string RsaLine(int bits)
    {
        using var rsa = RSA.Create(bits);
        var p = rsa.ExportParameters(false);
        return Line(w =>
        {
            w.WriteString(SshKeyAlgorithms.Rsa);
            w.WriteMPInt(p.Exponent);
            w.WriteMPInt(p.Modulus);
        }, SshKeyAlgorithms.Rsa, "rsa");
    }

    /// <summary>ssh-dss: string type, mpint p, q, g, y (shape only).</summary>
    public static string DssLine() =>
        Line(w =>
        {
            w.WriteString("ssh-dss");
            for (var i = 0; i < 4; i++)
            {
                w.WriteMPInt(RandomNumberGenerator.GetBytes(i == 1 ? 20 : 128));
            }
        }, "ssh-dss", "dsa");

    public static string Line(Action<ByteWriter> write, string type, string? comment = null)
    {
        var blob = Blob(write);
        return comment is null ? $"{type} {Convert.ToBase64String(blob)}" : $"{type} {Convert.ToBase64String(blob)} {comment}";
    }

    public static byte[] Blob(Action<ByteWriter> write)
    {
        var writer = new ByteWriter();
        write(writer);
        return writer.ToArray();
    }

    /// <summary>A class wrapper over <see cref="SshWireWriter"/> usable from lambdas.</summary>
    internal sealed class ByteWriter
    {
        private readonly MemoryStream _stream = new();

        public void WriteString(string value) => WriteString(Encoding.UTF8.GetBytes(value));

        public void WriteString(ReadOnlySpan<byte> value)
        {
            WriteUInt32((uint)value.Length);
            _stream.Write(value);
        }

        public void WriteUInt32(uint value) => _stream.Write([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);

        public void WriteUInt64(ulong value)
        {
            WriteUInt32((uint)(value >> 32));
            WriteUInt32((uint)value);
        }

        public void WriteRaw(ReadOnlySpan<byte> value) => _stream.Write(value);

        public void WriteMPInt(ReadOnlySpan<byte> magnitude)
        {
            var writer = new SshWireWriter(new byte[magnitude.Length + 8]);
            writer.WriteMPInt(magnitude);
            _stream.Write(writer.Written);
        }

        public byte[] ToArray() => _stream.ToArray();
    }
}
