using Dedalus.OpenSsh.Tests.Support;
using Dedalus.Testing;

namespace Dedalus.OpenSsh.Tests;

public sealed class CertificateParsingTests
{
    [Theory]
    [InlineData("ed25519", null, "ed25519")]
    [InlineData("ecdsa-256", null, "ecdsa-384")]
    [InlineData("ecdsa-521", null, "rsa-2048")]
    [InlineData("rsa-3072", "rsa-sha2-256", "ed25519")]
    [InlineData("rsa-2048", "rsa-sha2-512", "ecdsa-521")]
    public async Task A_certificate_made_by_ssh_keygen_s_parses_with_every_field_and_a_valid_signature(
        string caKind, string? signatureAlgorithm, string subjectKind)
    {
        using var directory = new TempDirectory();
        var ca = await SharedKeys.GetAsync(caKind);
        var subject = await SharedKeys.GetAsync(subjectKind);
        var subjectPath = directory.WriteFile("subject.pub", subject.PublicKeyLine + "\n");
        var from = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var to = new DateTimeOffset(2027, 6, 7, 8, 9, 10, TimeSpan.Zero);
        List<string> arguments =
        [
            "-q", "-s", ca.PrivateKeyPath!, "-I", "key id from ssh-keygen", "-n", "alice,bob", "-z", "123456789",
            "-V", $"{from:yyyyMMddHHmmss}:{to:yyyyMMddHHmmss}",
            "-O", "clear", "-O", "permit-pty", "-O", "permit-port-forwarding",
            "-O", "force-command=/bin/echo hi", "-O", "source-address=192.0.2.0/24",
        ];
        if (signatureAlgorithm is not null)
        {
            arguments.AddRange(["-t", signatureAlgorithm]);
        }

        await OpenSshTools.KeygenOkAsync([.. arguments, subjectPath]);
        var line = await File.ReadAllTextAsync(directory.Combine("subject-cert.pub"));

        var cert = SshCertificate.Parse(line);

        Assert.Equal(SshKeyAlgorithms.GetCertificateType(subject.ExpectedType), cert.CertificateType);
        Assert.Equal(subject.PublicKey, cert.Key);
        Assert.Equal(SshCertificateType.User, cert.Type);
        Assert.Equal(123456789UL, cert.Serial);
        Assert.Equal("key id from ssh-keygen", cert.KeyId);
        Assert.Equal(["alice", "bob"], cert.Principals);
        Assert.Equal(from, cert.ValidAfter);
        Assert.Equal(to, cert.ValidBefore);
        Assert.Equal(
            new Dictionary<string, string> { ["force-command"] = "/bin/echo hi", ["source-address"] = "192.0.2.0/24" },
            cert.CriticalOptions);
        Assert.Equal(["permit-port-forwarding", "permit-pty"], cert.Extensions);
        Assert.Equal(ca.PublicKey, cert.SignatureKey);
        Assert.Equal(subject.Kind + "@test", cert.Comment);
        Assert.True(cert.VerifySignature());
        Assert.Equal(line.Trim(), cert.ToOpenSshString(cert.Comment));
    }

    [Fact]
    public async Task A_host_certificate_made_by_ssh_keygen_parses_as_a_host_certificate_valid_forever()
    {
        using var directory = new TempDirectory();
        var ca = await SharedKeys.GetAsync("ed25519");
        var subject = await SharedKeys.GetAsync("ecdsa-256");
        var subjectPath = directory.WriteFile("host.pub", subject.PublicKeyLine + "\n");

        await OpenSshTools.KeygenOkAsync("-q", "-s", ca.PrivateKeyPath!, "-h", "-I", "host", "-n", "h1.example", subjectPath);
        var cert = SshCertificate.Parse(await File.ReadAllTextAsync(directory.Combine("host-cert.pub")));

        Assert.Equal(SshCertificateType.Host, cert.Type);
        Assert.Equal(0UL, cert.ValidAfterUnixSeconds);
        Assert.Equal(ulong.MaxValue, cert.ValidBeforeUnixSeconds);
        Assert.Equal(DateTimeOffset.MaxValue, cert.ValidBefore);
        Assert.Empty(cert.Extensions);
        Assert.Empty(cert.CriticalOptions);
        Assert.True(cert.VerifySignature());
    }

    [Fact]
    public async Task A_plain_public_key_given_as_a_certificate_is_refused()
    {
        var key = await SharedKeys.GetAsync("ed25519");

        AssertRefused(key.PublicKeyLine, "'ssh-ed25519' is a plain public key, but a certificate is expected");
    }

    [Fact]
    public void An_empty_certificate_line_is_refused_as_empty()
    {
        AssertRefused(string.Empty, "certificate is empty");
    }

    [Fact]
    public void A_certificate_with_trailing_bytes_is_refused()
    {
        var cert = Issue();
        byte[] blob = [.. cert.Blob.Span, 0];

        AssertRefused($"{cert.CertificateType} {Convert.ToBase64String(blob)}", "certificate data has 1 trailing bytes");
    }

    [Fact]
    public void A_certificate_type_word_that_disagrees_with_the_blob_is_refused()
    {
        var cert = Issue();

        AssertRefused(
            $"{SshKeyAlgorithms.RsaCertificate} {Convert.ToBase64String(cert.Blob.Span)}",
            "certificate type 'ssh-rsa-cert-v01@openssh.com' does not match the certificate data, which holds 'ssh-ed25519-cert-v01@openssh.com'");
    }

    [Fact]
    public void A_truncated_certificate_is_refused_as_truncated()
    {
        var cert = Issue();

        AssertRefused($"{cert.CertificateType} {Convert.ToBase64String(cert.Blob.Span[..^20])}", "signature is truncated");
    }

    [Fact]
    public void Extensions_out_of_order_are_refused()
    {
        var line = RebuiltCertificateLine(extensions: ["permit-pty", "permit-agent-forwarding"]);

        AssertRefused(line, "extensions are not in strictly increasing order ('permit-agent-forwarding' after 'permit-pty')");
    }

    [Fact]
    public void A_certificate_role_other_than_user_or_host_is_refused()
    {
        var line = RebuiltCertificateLine(role: 3);

        AssertRefused(line, "certificate role 3 is neither user (1) nor host (2)");
    }

    [Fact]
    public void A_dsa_certificate_is_refused_naming_dsa()
    {
        AssertRefused("ssh-dss-cert-v01@openssh.com AAAA", "DSA certificates (ssh-dss-cert-v01@openssh.com) are not accepted");
    }

    [Fact]
    public void A_certificate_whose_signature_key_is_a_dsa_key_is_refused()
    {
        var dssBlob = Convert.FromBase64String(TestKeys.DssLine().Split(' ')[1]);
        var line = RebuiltCertificateLine(signatureKey: dssBlob);

        AssertRefused(line, "signature key is invalid: DSA keys (ssh-dss) are not accepted");
    }

    [Fact]
    public void A_short_rsa_subject_key_in_a_certificate_is_refused()
    {
        var rsaBlob = Convert.FromBase64String(TestKeys.RsaLine(1024).Split(' ')[1]);
        var line = RebuiltCertificateLine(subjectType: SshKeyAlgorithms.Rsa, subjectFields: rsaBlob.AsSpan(4 + 7).ToArray());

        AssertRefused(line, "RSA key is 1024 bits; at least 2048 bits are required");
    }

    /// <summary>Encodes a certificate by hand (PROTOCOL.certkeys) with chosen, possibly invalid, fields.</summary>
    internal static string RebuiltCertificateLine(
        IReadOnlyList<string>? extensions = null,
        uint role = 1,
        byte[]? signatureKey = null,
        string subjectType = SshKeyAlgorithms.Ed25519,
        byte[]? subjectFields = null)
    {
        using var subject = SshPrivateKey.GenerateEd25519();
        using var ca = SshPrivateKey.GenerateEd25519();
        var certificateType = SshKeyAlgorithms.GetCertificateType(subjectType);
        var blob = TestKeys.Blob(w =>
        {
            w.WriteString(certificateType);
            w.WriteString(new byte[32]);
            w.WriteRaw(subjectFields ?? subject.PublicKey.Blob[(4 + 11)..].ToArray());
            w.WriteUInt64(5);
            w.WriteUInt32(role);
            w.WriteString("id");
            w.WriteString(TestKeys.Blob(p => p.WriteString("p")));
            w.WriteUInt64(0);
            w.WriteUInt64(ulong.MaxValue);
            w.WriteString([]);
            w.WriteString(TestKeys.Blob(e =>
            {
                foreach (var name in extensions ?? [])
                {
                    e.WriteString(name);
                    e.WriteString([]);
                }
            }));
            w.WriteString([]);
            w.WriteString(signatureKey ?? ca.PublicKey.Blob.ToArray());
            w.WriteString(ca.Sign([1, 2, 3]));
        });
        return $"{certificateType} {Convert.ToBase64String(blob)}";
    }

    private static SshCertificate Issue()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        return new SshCertificateAuthority(caKey).Issue(CertificateSpecs.Simple(user.PublicKey));
    }

    private static void AssertRefused(string line, string expectedMessagePart) =>
        ParseAssert.Refused<SshCertificate>(line, expectedMessagePart, SshCertificate.TryParse, SshCertificate.Parse);
}
