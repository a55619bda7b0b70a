using BenchmarkDotNet.Attributes;
using Dedalus.OpenSsh;
using NSec.Cryptography;

namespace Dedalus.Benchmarks;

/// <summary>
/// Dedalus.OpenSsh hot paths against a baseline in the same run: the bare NSec Ed25519 signature
/// of a message as long as the signed part of a certificate (the floor for issuing one).
/// Certificates per second on one core = 1 s / mean of <see cref="IssueEd25519UserCertificate"/>.
/// </summary>
[MemoryDiagnoser]
public class OpenSshBenchmarks : IDisposable
{
    private SshPrivateKey _caKey = null!;
    private SshPrivateKey _userKey = null!;
    private SshCertificateAuthority _ca = null!;
    private SshCertificateSpec _spec = null!;
    private Key _nsecKey = null!;
    private byte[] _message = null!;
    private byte[] _signature = null!;
    private string _ed25519Line = null!;
    private string _rsaLine = null!;
    private string _certificateLine = null!;
    private SshPublicKey _key = null!;

    [GlobalSetup]
    public void Setup()
    {
        _caKey = SshPrivateKey.GenerateEd25519();
        _userKey = SshPrivateKey.GenerateEd25519();
        _ca = new SshCertificateAuthority(_caKey);
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        _spec = new SshCertificateSpec
        {
            Key = _userKey.PublicKey,
            Type = SshCertificateType.User,
            Serial = 0x0123_4567_89AB_CDEF,
            KeyId = "sess_01JDEDALUSBENCHMARK0000000",
            Principals = ["dm-8f14e45f-ceea-467f-a0e6-0d8b3f2a9c11"],
            ValidAfter = now.AddMinutes(-2),
            ValidBefore = now.AddHours(1),
            Extensions = SshCertificateSpec.DefaultUserExtensions,
        };
        var certificate = _ca.Issue(_spec);
        _certificateLine = certificate.ToOpenSshString("bench");

        // Same length as the signed part of the certificate (everything before the signature field).
        _message = certificate.Blob[..(certificate.Blob.Length - certificate.Signature.Length - 4)].ToArray();
        _nsecKey = Key.Create(SignatureAlgorithm.Ed25519);
        _signature = new byte[64];

        _ed25519Line = _userKey.PublicKey.ToOpenSshString("user@laptop");
        using var rsa = System.Security.Cryptography.RSA.Create(3072);
        var parameters = rsa.ExportParameters(false);
        _rsaLine = "ssh-rsa " + Convert.ToBase64String(RsaBlob(parameters.Exponent!, parameters.Modulus!)) + " rsa@laptop";
        _key = SshPublicKey.Parse(_ed25519Line);
    }

    [Benchmark(Baseline = true, Description = "NSec Ed25519 sign (same length)")]
    public byte[] BaselineNSecEd25519Sign()
    {
        SignatureAlgorithm.Ed25519.Sign(_nsecKey, _message, _signature);
        return _signature;
    }

    [Benchmark(Description = "Issue Ed25519 user cert (Ed25519 CA)")]
    public SshCertificate IssueEd25519UserCertificate() => _ca.Issue(_spec);

    [Benchmark(Description = "Issue + cert line")]
    public string IssueAndFormat() => _ca.Issue(_spec).ToOpenSshString();

    [Benchmark(Description = "Parse ssh-ed25519 key line")]
    public SshPublicKey ParseEd25519Line() => SshPublicKey.Parse(_ed25519Line);

    [Benchmark(Description = "Parse ssh-rsa 3072 key line")]
    public SshPublicKey ParseRsaLine() => SshPublicKey.Parse(_rsaLine);

    [Benchmark(Description = "Fingerprint (SHA256)")]
    public string Fingerprint() => _key.WithComment(null).Fingerprint;

    [Benchmark(Description = "Parse certificate line")]
    public SshCertificate ParseCertificate() => SshCertificate.Parse(_certificateLine);

    [Benchmark(Description = "Parse certificate + verify signature")]
    public bool ParseAndVerifyCertificate() => SshCertificate.Parse(_certificateLine).VerifySignature();

    [GlobalCleanup]
    public void Dispose()
    {
        _caKey?.Dispose();
        _userKey?.Dispose();
        _nsecKey?.Dispose();
        GC.SuppressFinalize(this);
    }

    private static byte[] RsaBlob(byte[] exponent, byte[] modulus)
    {
        using var stream = new MemoryStream();
        WriteString(stream, "ssh-rsa"u8);
        WriteString(stream, exponent[0] >= 0x80 ? [0, .. exponent] : exponent);
        WriteString(stream, modulus[0] >= 0x80 ? [0, .. modulus] : modulus);
        return stream.ToArray();

        static void WriteString(MemoryStream stream, ReadOnlySpan<byte> value)
        {
            stream.Write([(byte)(value.Length >> 24), (byte)(value.Length >> 16), (byte)(value.Length >> 8), (byte)value.Length]);
            stream.Write(value);
        }
    }
}
