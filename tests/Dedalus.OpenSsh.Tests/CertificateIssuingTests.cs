using Dedalus.OpenSsh.Tests.Support;

namespace Dedalus.OpenSsh.Tests;

public sealed class CertificateIssuingTests
{
    [Theory]
    [MemberData(nameof(SharedKeys.AllKinds), MemberType = typeof(SharedKeys))]
    public async Task Ssh_keygen_L_reads_every_field_of_a_user_certificate_for_every_key_type(string kind)
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        var subject = (await SharedKeys.GetAsync(kind)).PublicKey;
        var spec = CertificateSpecs.Full(subject);

        var cert = new SshCertificateAuthority(caKey).Issue(spec);
        var listing = await OpenSshTools.ListCertificateAsync(cert.ToOpenSshString("issued-by-test"));

        AssertListingMatches(listing, cert, spec, caKey.PublicKey, "user");
    }

    [Theory]
    [MemberData(nameof(SharedKeys.AllKinds), MemberType = typeof(SharedKeys))]
    public async Task Ssh_keygen_L_reads_a_host_certificate_signed_by_an_ecdsa_ca_for_every_key_type(string kind)
    {
        using var caKey = SshPrivateKey.GenerateEcdsaNistP256();
        var subject = (await SharedKeys.GetAsync(kind)).PublicKey;
        var spec = CertificateSpecs.Simple(subject, serial: 99, principal: "127.0.0.1") with
        {
            Type = SshCertificateType.Host,
            Extensions = [],
            Principals = ["127.0.0.1", "localhost", "dm-host"],
        };

        var cert = new SshCertificateAuthority(caKey).Issue(spec);
        var listing = await OpenSshTools.ListCertificateAsync(cert.ToOpenSshString());

        AssertListingMatches(listing, cert, spec, caKey.PublicKey, "host");
        Assert.True(cert.VerifySignature());
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task Ssh_keygen_L_reads_open_ended_validity_windows(bool always, bool forever)
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var spec = CertificateSpecs.Simple(user.PublicKey) with
        {
            ValidAfter = always ? DateTimeOffset.UnixEpoch : CertificateSpecs.Now,
            ValidBefore = forever ? DateTimeOffset.MaxValue : CertificateSpecs.Now.AddDays(1),
        };

        var cert = new SshCertificateAuthority(caKey).Issue(spec);
        var listing = await OpenSshTools.ListCertificateAsync(cert.ToOpenSshString());

        Assert.Equal(CertificateListing.FormatValidity(spec.ValidAfter, spec.ValidBefore), listing.Valid);
        Assert.Equal(forever ? ulong.MaxValue : (ulong)spec.ValidBefore.ToUnixTimeSeconds(), cert.ValidBeforeUnixSeconds);
    }

    [Theory]
    [MemberData(nameof(SharedKeys.AllKinds), MemberType = typeof(SharedKeys))]
    public async Task An_issued_certificate_round_trips_through_its_text_form_with_every_field(string kind)
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        var subject = (await SharedKeys.GetAsync(kind)).PublicKey;
        var spec = CertificateSpecs.Full(subject, SshCertificateType.Host);
        var issued = new SshCertificateAuthority(caKey).Issue(spec);

        var parsed = SshCertificate.Parse(issued.ToOpenSshString("round trip"));

        Assert.Equal(SshKeyAlgorithms.GetCertificateType(subject.KeyType), parsed.CertificateType);
        Assert.Equal(issued.CertificateType, parsed.CertificateType);
        Assert.Equal(subject, parsed.Key);
        Assert.Equal(subject.KeyType, parsed.Key.KeyType);
        Assert.Equal(spec.Serial, parsed.Serial);
        Assert.Equal(spec.Type, parsed.Type);
        Assert.Equal(spec.KeyId, parsed.KeyId);
        Assert.Equal(spec.Principals, parsed.Principals);
        Assert.Equal(spec.ValidAfter, parsed.ValidAfter);
        Assert.Equal(spec.ValidBefore, parsed.ValidBefore);
        Assert.Equal(spec.CriticalOptions.OrderBy(o => o.Key, StringComparer.Ordinal), parsed.CriticalOptions);
        Assert.Equal(spec.Extensions.Order(StringComparer.Ordinal), parsed.Extensions);
        Assert.Equal(caKey.PublicKey, parsed.SignatureKey);
        Assert.Equal(32, parsed.Nonce.Length);
        Assert.Equal(issued.Nonce.ToArray(), parsed.Nonce.ToArray());
        Assert.Equal(issued.Blob.ToArray(), parsed.Blob.ToArray());
        Assert.Equal(issued.Signature.ToArray(), parsed.Signature.ToArray());
        Assert.Equal("round trip", parsed.Comment);
        Assert.True(parsed.VerifySignature());

        // The issued object reports the same fields without a parse.
        Assert.Equal(parsed.CriticalOptions, issued.CriticalOptions);
        Assert.Equal(parsed.Extensions, issued.Extensions);
        Assert.Equal(parsed.Principals, issued.Principals);
    }

    [Fact]
    public void Two_certificates_from_the_same_spec_have_different_random_nonces()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var ca = new SshCertificateAuthority(caKey);
        var spec = CertificateSpecs.Simple(user.PublicKey);

        var first = ca.Issue(spec);
        var second = ca.Issue(spec);

        Assert.NotEqual(first.Nonce.ToArray(), second.Nonce.ToArray());
        Assert.True(first.VerifySignature());
        Assert.True(second.VerifySignature());
    }

    [Fact]
    public void A_flipped_bit_in_the_signed_data_fails_signature_verification()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var cert = new SshCertificateAuthority(caKey).Issue(CertificateSpecs.Simple(user.PublicKey, serial: 1000));
        var blob = cert.Blob.ToArray();
        var serialOffset = 4 + cert.CertificateType.Length + 4 + 32 + 4 + 32;
        blob[serialOffset + 7] ^= 0x01;

        var tampered = SshCertificate.FromBlob(blob);

        Assert.Equal(1001UL, tampered.Serial);
        Assert.False(tampered.VerifySignature());
    }

    [Fact]
    public void A_certificate_whose_signature_key_was_swapped_fails_verification()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var otherCa = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var cert = new SshCertificateAuthority(caKey).Issue(CertificateSpecs.Simple(user.PublicKey));
        var blob = cert.Blob.ToArray();
        var caBlob = caKey.PublicKey.Blob.ToArray();
        var at = blob.AsSpan().IndexOf(caBlob);
        otherCa.PublicKey.Blob.Span.CopyTo(blob.AsSpan(at));

        var swapped = SshCertificate.FromBlob(blob);

        Assert.Equal(otherCa.PublicKey, swapped.SignatureKey);
        Assert.False(swapped.VerifySignature());
    }

    [Fact]
    public void Validity_is_checked_as_sshd_does_from_valid_after_to_before_valid_before()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var spec = CertificateSpecs.Simple(user.PublicKey);

        var cert = new SshCertificateAuthority(caKey).Issue(spec);

        Assert.True(cert.IsValidAt(spec.ValidAfter));
        Assert.True(cert.IsValidAt(spec.ValidBefore.AddSeconds(-1)));
        Assert.False(cert.IsValidAt(spec.ValidBefore));
        Assert.False(cert.IsValidAt(spec.ValidAfter.AddSeconds(-1)));
    }

    [Fact]
    public void A_validity_window_that_ends_before_it_starts_is_refused()
    {
        AssertIssueRefused(spec => spec with { ValidBefore = CertificateSpecs.Now.AddHours(-1) }, "ValidBefore must be later than ValidAfter");
    }

    [Fact]
    public void A_duplicated_extension_is_refused()
    {
        AssertIssueRefused(spec => spec with { Extensions = ["permit-pty", "permit-pty"] }, "extension 'permit-pty' is given twice");
    }

    [Fact]
    public void An_empty_principal_is_refused()
    {
        AssertIssueRefused(spec => spec with { Principals = ["ok", string.Empty] }, "principal is null or empty");
    }

    [Fact]
    public void The_default_user_extensions_leave_out_X11_forwarding()
    {
        Assert.Equal(
            ["permit-agent-forwarding", "permit-port-forwarding", "permit-pty", "permit-user-rc"],
            SshCertificateSpec.DefaultUserExtensions);
    }

    [Fact]
    public void A_large_certificate_with_many_principals_is_issued_beyond_the_stack_buffer()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var principals = Enumerable.Range(0, 300).Select(i => $"principal-{i:D4}.example.test").ToArray();
        var spec = CertificateSpecs.Simple(user.PublicKey) with { Principals = principals };

        var cert = SshCertificate.Parse(new SshCertificateAuthority(caKey).Issue(spec).ToOpenSshString());

        Assert.Equal(principals, cert.Principals);
        Assert.True(cert.VerifySignature());
    }

    /// <summary>Issuing a simple user certificate changed by <paramref name="change"/> fails naming the problem.</summary>
    private static void AssertIssueRefused(Func<SshCertificateSpec, SshCertificateSpec> change, string expectedMessagePart)
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var spec = change(CertificateSpecs.Simple(user.PublicKey));

        var ex = Assert.Throws<ArgumentException>(() => new SshCertificateAuthority(caKey).Issue(spec));

        Assert.Contains(expectedMessagePart, ex.Message, StringComparison.Ordinal);
    }

    private static void AssertListingMatches(
        CertificateListing listing, SshCertificate cert, SshCertificateSpec spec, SshPublicKey ca, string role)
    {
        Assert.Equal($"{cert.CertificateType} {role} certificate", listing.Type);
        Assert.EndsWith(" " + spec.Key.Fingerprint, listing.PublicKey, StringComparison.Ordinal);
        Assert.Contains(" " + ca.Fingerprint + " (using ", listing.SigningCa, StringComparison.Ordinal);
        Assert.Equal(spec.KeyId, listing.KeyId);
        Assert.Equal(spec.Serial, listing.Serial);
        Assert.Equal(CertificateListing.FormatValidity(spec.ValidAfter, spec.ValidBefore), listing.Valid);
        Assert.Equal(spec.Principals, listing.Principals);
        Assert.Equal(
            spec.CriticalOptions.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Value.Length == 0 ? o.Key : $"{o.Key} {o.Value}"),
            listing.CriticalOptions);
        Assert.Equal(spec.Extensions.Order(StringComparer.Ordinal), listing.Extensions);
    }
}
