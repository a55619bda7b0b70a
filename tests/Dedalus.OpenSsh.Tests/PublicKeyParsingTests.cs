using System.Text;
using Dedalus.OpenSsh.Tests.Support;

namespace Dedalus.OpenSsh.Tests;

public sealed class PublicKeyParsingTests
{
    [Theory]
    [MemberData(nameof(SharedKeys.AllKinds), MemberType = typeof(SharedKeys))]
    public async Task Every_accepted_key_type_parses_with_type_blob_and_comment(string kind)
    {
        var generated = await SharedKeys.GetAsync(kind);
        var parts = generated.PublicKeyLine.Split(' ', 3);

        var key = SshPublicKey.Parse(generated.PublicKeyLine);

        Assert.Equal(generated.ExpectedType, key.KeyType);
        Assert.Equal(parts[1], Convert.ToBase64String(key.Blob.Span));
        Assert.Equal(parts[2], key.Comment);
        Assert.Equal(parts[0] + " " + parts[1], key.ToOpenSshString());
        Assert.Equal(generated.PublicKeyLine, key.ToOpenSshString(parts[2]));
    }

    [Theory]
    [InlineData("ecdsa-256", 256)]
    [InlineData("ecdsa-384", 384)]
    [InlineData("ecdsa-521", 521)]
    [InlineData("rsa-2048", 2048)]
    [InlineData("rsa-3072", 3072)]
    [InlineData("ed25519", 256)]
    public async Task The_key_size_in_bits_is_reported(string kind, int bits)
    {
        var key = (await SharedKeys.GetAsync(kind)).PublicKey;

        Assert.Equal(bits, key.Bits);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public async Task A_single_trailing_newline_is_tolerated(string newline)
    {
        var line = (await SharedKeys.GetAsync("ed25519")).PublicKeyLine;

        var key = SshPublicKey.Parse(line + newline);

        Assert.Equal("ed25519@test", key.Comment);
    }

    [Fact]
    public async Task A_line_without_comment_parses_with_a_null_comment()
    {
        var line = string.Join(' ', (await SharedKeys.GetAsync("ed25519")).PublicKeyLine.Split(' ').Take(2));

        var key = SshPublicKey.Parse(line);

        Assert.Null(key.Comment);
        Assert.Equal(line, key.ToString());
    }

    [Fact]
    public async Task Extra_spaces_around_fields_are_tolerated_and_comments_keep_inner_spaces()
    {
        var parts = (await SharedKeys.GetAsync("ed25519")).PublicKeyLine.Split(' ');

        var key = SshPublicKey.Parse($"  {parts[0]}   {parts[1]}   my laptop key  ");

        Assert.Equal("my laptop key", key.Comment);
    }

    [Fact]
    public async Task Keys_with_the_same_blob_are_equal_whatever_their_comment()
    {
        var key = (await SharedKeys.GetAsync("ed25519")).PublicKey;

        var other = key.WithComment("another comment");

        Assert.Equal(key, other);
        Assert.Equal(key.GetHashCode(), other.GetHashCode());
        Assert.Equal(key, SshPublicKey.FromBlob(key.Blob.Span));
    }

    [Fact]
    public void An_empty_string_is_refused_as_empty()
    {
        AssertRefused(string.Empty, "public key is empty");
    }

    [Fact]
    public void A_line_of_only_spaces_is_refused_as_empty()
    {
        AssertRefused("    ", "public key is empty");
    }

    [Fact]
    public void A_null_line_is_refused_as_empty()
    {
        AssertRefused(null!, "public key is empty");
    }

    [Fact]
    public void A_dsa_key_is_refused_naming_dsa()
    {
        AssertRefused(TestKeys.DssLine(), "DSA keys (ssh-dss) are not accepted");
    }

    [Fact]
    public void A_1024_bit_rsa_key_is_refused_naming_its_size()
    {
        AssertRefused(TestKeys.RsaLine(1024), "RSA key is 1024 bits; at least 2048 bits are required");
    }

    [Fact]
    public async Task Invalid_base64_is_refused_as_invalid_base64()
    {
        var parts = (await SharedKeys.GetAsync("ed25519")).PublicKeyLine.Split(' ');

        AssertRefused($"{parts[0]} {parts[1][..^2]}!! comment", "public key data is not valid base64");
        AssertRefused($"{parts[0]} {parts[1][..^1]} comment", "public key data is not valid base64");
    }

    [Fact]
    public async Task A_type_word_that_disagrees_with_the_blob_is_refused_naming_both_types()
    {
        var parts = (await SharedKeys.GetAsync("ed25519")).PublicKeyLine.Split(' ');

        AssertRefused($"ssh-rsa {parts[1]}", "key type 'ssh-rsa' does not match the key data, which holds 'ssh-ed25519'");
    }

    [Fact]
    public async Task Trailing_bytes_in_the_blob_are_refused_with_their_count()
    {
        var key = (await SharedKeys.GetAsync("ed25519")).PublicKey;
        byte[] blob = [.. key.Blob.Span, 1, 2, 3];

        AssertRefused($"ssh-ed25519 {Convert.ToBase64String(blob)}", "key data has 3 trailing bytes");
    }

    [Fact]
    public void A_certificate_given_as_a_public_key_is_refused_as_a_certificate()
    {
        using var ca = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var cert = new SshCertificateAuthority(ca).Issue(CertificateSpecs.Simple(user.PublicKey));

        AssertRefused(cert.ToOpenSshString(), "'ssh-ed25519-cert-v01@openssh.com' is a certificate, but a plain public key is expected");
    }

    [Fact]
    public void A_certificate_blob_under_a_plain_key_type_word_is_refused()
    {
        using var ca = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var cert = new SshCertificateAuthority(ca).Issue(CertificateSpecs.Simple(user.PublicKey));

        AssertRefused($"ssh-ed25519 {Convert.ToBase64String(cert.Blob.Span)}", "does not match the key data, which holds 'ssh-ed25519-cert-v01@openssh.com'");
    }

    [Fact]
    public async Task Input_over_16_KiB_is_refused_as_too_long()
    {
        var line = (await SharedKeys.GetAsync("ed25519")).PublicKeyLine + " " + new string('x', 16 * 1024);

        AssertRefused(line, "public key is too long");
    }

    [Theory]
    [InlineData("\0")]
    [InlineData("\t")]
    [InlineData("\u001b[31m")]
    [InlineData("\u007f")]
    [InlineData("\r")]
    public async Task Control_characters_are_refused(string control)
    {
        var line = (await SharedKeys.GetAsync("ed25519")).PublicKeyLine;

        AssertRefused(line.Replace("@test", "@te" + control + "st", StringComparison.Ordinal), "public key contains a control character");
    }

    [Fact]
    public async Task Two_trailing_newlines_are_refused_as_a_control_character()
    {
        var line = (await SharedKeys.GetAsync("ed25519")).PublicKeyLine;

        AssertRefused(line + "\n\n", "public key contains a control character (0x0a)");
    }

    [Fact]
    public async Task An_embedded_newline_joining_two_keys_is_refused()
    {
        var line = (await SharedKeys.GetAsync("ed25519")).PublicKeyLine;

        AssertRefused(line + "\n" + line, "public key contains a control character (0x0a)");
    }

    [Fact]
    public void A_type_without_base64_is_refused_as_missing_data()
    {
        AssertRefused("ssh-ed25519", "public key has no base64 data after the type 'ssh-ed25519'");
    }

    [Fact]
    public void An_unknown_key_type_is_refused_naming_it()
    {
        AssertRefused("ssh-foo AAAAB3NzaC1mb28=", "unsupported key type 'ssh-foo'");
    }

    [Fact]
    public void Authorized_keys_options_before_the_key_are_refused_as_an_unknown_type()
    {
        AssertRefused("restrict,command=\"x\" ssh-ed25519 AAAA", "unsupported key type 'restrict,command=\"x\"'");
    }

    [Fact]
    public void An_ed25519_key_of_the_wrong_length_is_refused()
    {
        var line = TestKeys.Line(w =>
        {
            w.WriteString("ssh-ed25519");
            w.WriteString(new byte[31]);
        }, "ssh-ed25519");

        AssertRefused(line, "Ed25519 public key is 31 bytes; 32 expected");
    }

    [Fact]
    public void An_ecdsa_point_off_the_curve_is_refused()
    {
        var point = new byte[65];
        point[0] = 4;
        point[64] = 1;
        var line = TestKeys.Line(w =>
        {
            w.WriteString("ecdsa-sha2-nistp256");
            w.WriteString("nistp256");
            w.WriteString(point);
        }, "ecdsa-sha2-nistp256");

        AssertRefused(line, "ECDSA public point is not on curve nistp256");
    }

    [Fact]
    public async Task An_ecdsa_key_whose_curve_name_disagrees_with_its_type_is_refused()
    {
        var p384 = (await SharedKeys.GetAsync("ecdsa-384")).PublicKey;
        var blob = p384.Blob.ToArray();
        var renamed = TestKeys.Blob(w =>
        {
            w.WriteString("ecdsa-sha2-nistp256");
            w.WriteRaw(blob.AsSpan(4 + "ecdsa-sha2-nistp384".Length));
        });

        AssertRefused($"ecdsa-sha2-nistp256 {Convert.ToBase64String(renamed)}", "ECDSA curve name does not match the key type (expected nistp256)");
    }

    [Fact]
    public void A_truncated_blob_is_refused_as_truncated()
    {
        var blob = TestKeys.Blob(w =>
        {
            w.WriteString("ssh-ed25519");
            w.WriteUInt32(32);
            w.WriteRaw(new byte[10]);
        });

        AssertRefused($"ssh-ed25519 {Convert.ToBase64String(blob)}", "Ed25519 public key is truncated");
    }

    [Fact]
    public void An_rsa_key_with_an_even_exponent_is_refused()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var modulus = rsa.ExportParameters(false).Modulus!;
        var line = TestKeys.Line(w =>
        {
            w.WriteString("ssh-rsa");
            w.WriteMPInt([4]);
            w.WriteMPInt(modulus);
        }, "ssh-rsa");

        AssertRefused(line, "RSA public exponent is invalid");
    }

    [Fact]
    public void A_security_key_with_an_empty_application_is_refused()
    {
        AssertRefused(TestKeys.SkEd25519Line(application: string.Empty), "security key application is empty");
    }

    [Fact]
    public void Parse_throws_an_SshFormatException_with_the_same_message()
    {
        var ex = Assert.Throws<SshFormatException>(() => SshPublicKey.Parse("ssh-dss AAAA"));

        Assert.Contains("DSA keys (ssh-dss) are not accepted", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_utf8_comment_is_kept()
    {
        var line = TestKeys.SkEd25519Line(comment: "clé de Zoë");

        var key = SshPublicKey.Parse(line);

        Assert.Equal("clé de Zoë", key.Comment);
        Assert.Equal(Encoding.UTF8.GetByteCount("clé de Zoë"), Encoding.UTF8.GetByteCount(key.Comment!));
    }

    private static void AssertRefused(string line, string expectedMessagePart) =>
        ParseAssert.Refused<SshPublicKey>(line, expectedMessagePart, SshPublicKey.TryParse, SshPublicKey.Parse);
}
