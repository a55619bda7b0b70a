using Dedalus.OpenSsh.Tests.Support;
using Dedalus.Testing;

namespace Dedalus.OpenSsh.Tests;

public sealed class FingerprintTests
{
    [Theory]
    [MemberData(nameof(SharedKeys.AllKinds), MemberType = typeof(SharedKeys))]
    public async Task Our_fingerprint_matches_ssh_keygen_l_E_sha256(string kind)
    {
        using var directory = new TempDirectory();
        var generated = await SharedKeys.GetAsync(kind);
        var path = directory.WriteFile("key.pub", generated.PublicKeyLine + "\n");

        var output = (await OpenSshTools.KeygenOkAsync("-l", "-E", "sha256", "-f", path)).StandardOutput;

        var key = generated.PublicKey;
        var fields = output.Trim().Split(' ');
        Assert.Equal(fields[1], key.Fingerprint);
        Assert.Equal(fields[0], key.Bits.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void A_fingerprint_is_SHA256_colon_and_43_unpadded_base64_characters()
    {
        using var key = SshPrivateKey.GenerateEd25519();

        var fingerprint = key.PublicKey.Fingerprint;

        Assert.StartsWith("SHA256:", fingerprint, StringComparison.Ordinal);
        Assert.Equal(7 + 43, fingerprint.Length);
        Assert.DoesNotContain("=", fingerprint, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_reports_the_fingerprint_of_its_subject_key()
    {
        using var ca = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();

        var cert = new SshCertificateAuthority(ca).Issue(CertificateSpecs.Simple(user.PublicKey));

        Assert.Equal(user.PublicKey.Fingerprint, cert.Fingerprint);
    }
}
