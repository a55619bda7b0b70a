using Dedalus.OpenSsh.Tests.Support;
using Dedalus.Testing;

namespace Dedalus.OpenSsh.Tests;

public sealed class KeyRevocationListTests
{
    [Fact]
    public async Task Ssh_keygen_Q_finds_certificates_revoked_by_serial_list_range_and_key_id_and_no_others()
    {
        using var directory = new TempDirectory();
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var otherCaKey = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var ca = new SshCertificateAuthority(caKey);
        var krl = new SshKeyRevocationListBuilder(ca.PublicKey) { Comment = "test krl" }
            .RevokeSerial(10)
            .RevokeSerial(12)
            .RevokeSerial(20).RevokeSerial(21).RevokeSerial(22).RevokeSerial(23)
            .RevokeSerialRange(1000, 1999)
            .RevokeKeyId("session-revoked")
            .Build(version: 3, CertificateSpecs.Now);
        var krlPath = Path.Combine(directory.Path, "revoked.krl");
        await File.WriteAllBytesAsync(krlPath, krl);

        (ulong Serial, string KeyId, SshCertificateAuthority Ca, bool Revoked)[] cases =
        [
            (10, "s", ca, true),
            (11, "s", ca, false),
            (12, "s", ca, true),
            (19, "s", ca, false),
            (20, "s", ca, true),
            (22, "s", ca, true),
            (23, "s", ca, true),
            (24, "s", ca, false),
            (999, "s", ca, false),
            (1000, "s", ca, true),
            (1500, "s", ca, true),
            (1999, "s", ca, true),
            (2000, "s", ca, false),
            (77, "session-revoked", ca, true),
            (77, "session-revoked-not", ca, false),
            (10, "s", new SshCertificateAuthority(otherCaKey), false),
            (78, "session-revoked", new SshCertificateAuthority(otherCaKey), false),
        ];
        foreach (var (serial, keyId, issuer, revoked) in cases)
        {
            var cert = issuer.Issue(CertificateSpecs.Simple(user.PublicKey, serial) with { KeyId = keyId });
            var certPath = directory.WriteFile($"{serial}-{keyId}-{issuer.PublicKey.Fingerprint[7..15].Replace('/', '_')}-cert.pub", cert.ToOpenSshString() + "\n");

            var result = await OpenSshTools.KeygenAsync("-Q", "-f", krlPath, certPath);

            Assert.True(
                revoked == result.StandardOutput.Contains("REVOKED", StringComparison.Ordinal),
                $"serial {serial} key id {keyId}: expected revoked={revoked}, got {result}");
            Assert.Equal(revoked ? 1 : 0, result.ExitCode);
        }
    }

    [Fact]
    public async Task A_krl_for_two_CAs_revokes_the_serials_and_key_ids_under_both_and_nothing_of_a_third()
    {
        using var directory = new TempDirectory();
        using var oldCaKey = SshPrivateKey.GenerateEd25519();
        using var newCaKey = SshPrivateKey.GenerateEcdsaNistP256();
        using var otherCaKey = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var builder = new SshKeyRevocationListBuilder([oldCaKey.PublicKey, newCaKey.PublicKey, oldCaKey.PublicKey])
            .RevokeSerial(7).RevokeSerial(0xfedc_ba98_7654_3210).RevokeSerialRange(100, 199).RevokeKeyId("ss-gone");
        var krlPath = Path.Combine(directory.Path, "rotation.krl");
        await File.WriteAllBytesAsync(krlPath, builder.Build(version: 5, CertificateSpecs.Now));

        Assert.Equal([oldCaKey.PublicKey, newCaKey.PublicKey], builder.CertificateAuthorities);
        Assert.Equal(oldCaKey.PublicKey, builder.CertificateAuthority);
        (ulong Serial, string KeyId, bool Revoked)[] cases =
        [
            (7, "s", true),
            (8, "s", false),
            (0xfedc_ba98_7654_3210, "s", true),
            (150, "s", true),
            (200, "s", false),
            (9, "ss-gone", true),
            (9, "ss-kept", false),
        ];
        foreach (var (caKey, name, underList) in new[] { (oldCaKey, "old", true), (newCaKey, "new", true), (otherCaKey, "other", false) })
        {
            var ca = new SshCertificateAuthority(caKey);
            foreach (var (serial, keyId, revoked) in cases)
            {
                var cert = ca.Issue(CertificateSpecs.Simple(user.PublicKey, serial) with { KeyId = keyId });
                var certPath = directory.WriteFile($"{name}-{serial}-{keyId}-cert.pub", cert.ToOpenSshString() + "\n");

                var result = await OpenSshTools.KeygenAsync("-Q", "-f", krlPath, certPath);

                var expected = revoked && underList;
                Assert.True(
                    expected == result.StandardOutput.Contains("REVOKED", StringComparison.Ordinal),
                    $"{name} CA, serial {serial}, key id {keyId}: expected revoked={expected}, got {result}");
                Assert.Equal(expected ? 1 : 0, result.ExitCode);
            }
        }
    }

    [Fact]
    public async Task Ssh_keygen_Q_l_lists_one_section_per_CA()
    {
        using var directory = new TempDirectory();
        using var oldCaKey = SshPrivateKey.GenerateEd25519();
        using var newCaKey = SshPrivateKey.GenerateEd25519();
        var krlPath = Path.Combine(directory.Path, "two.krl");
        await File.WriteAllBytesAsync(krlPath, new SshKeyRevocationListBuilder([oldCaKey.PublicKey, newCaKey.PublicKey]).RevokeSerial(42).Build(1, CertificateSpecs.Now));

        var output = (await OpenSshTools.KeygenOkAsync("-Q", "-l", "-f", krlPath)).StandardOutput;

        Assert.Contains("# CA key ssh-ed25519 " + oldCaKey.PublicKey.Fingerprint, output, StringComparison.Ordinal);
        Assert.Contains("# CA key ssh-ed25519 " + newCaKey.PublicKey.Fingerprint, output, StringComparison.Ordinal);
        Assert.Equal(2, output.Split('\n').Count(l => l.Trim() == "serial: 42"));
    }

    [Fact]
    public void A_krl_needs_a_CA()
    {
        Assert.Throws<ArgumentException>(() => new SshKeyRevocationListBuilder(Array.Empty<SshPublicKey>()));
    }

    [Fact]
    public async Task Ssh_keygen_reads_an_empty_krl_and_revokes_nothing()
    {
        using var directory = new TempDirectory();
        using var caKey = SshPrivateKey.GenerateEd25519();
        using var user = SshPrivateKey.GenerateEd25519();
        var ca = new SshCertificateAuthority(caKey);
        var krlPath = Path.Combine(directory.Path, "empty.krl");
        await File.WriteAllBytesAsync(krlPath, new SshKeyRevocationListBuilder(ca.PublicKey).Build(1, CertificateSpecs.Now));
        var certPath = directory.WriteFile("u-cert.pub", ca.Issue(CertificateSpecs.Simple(user.PublicKey)).ToOpenSshString() + "\n");

        var result = await OpenSshTools.KeygenAsync("-Q", "-f", krlPath, certPath);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(": ok", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ssh_keygen_Q_l_lists_our_krl_header_and_revocations()
    {
        using var directory = new TempDirectory();
        using var caKey = SshPrivateKey.GenerateEd25519();
        var krlPath = Path.Combine(directory.Path, "list.krl");
        var generated = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        await File.WriteAllBytesAsync(
            krlPath,
            new SshKeyRevocationListBuilder(caKey.PublicKey) { Comment = "rotation 7" }
                .RevokeSerial(5).RevokeSerialRange(100, 200).RevokeKeyId("sess-1")
                .Build(42, generated));

        var output = (await OpenSshTools.KeygenOkAsync("-Q", "-l", "-f", krlPath)).StandardOutput;

        Assert.Contains("# KRL version 42", output, StringComparison.Ordinal);
        Assert.Contains("# Generated at 20261128T120000", output, StringComparison.Ordinal);
        Assert.Contains("# Comment: rotation 7", output, StringComparison.Ordinal);
        Assert.Contains("serial: 5", output, StringComparison.Ordinal);
        Assert.Contains("serial: 100-200", output, StringComparison.Ordinal);
        Assert.Contains("id: sess-1", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Serial_zero_cannot_be_revoked_by_serial_as_in_openssh()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();

        Assert.Throws<ArgumentOutOfRangeException>(() => new SshKeyRevocationListBuilder(caKey.PublicKey).RevokeSerial(0));
    }

    [Fact]
    public void The_krl_starts_with_the_magic_and_format_version()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();

        var krl = new SshKeyRevocationListBuilder(caKey.PublicKey).RevokeSerial(1).Build(9, CertificateSpecs.Now);

        Assert.Equal("SSHKRL\n\0"u8.ToArray(), krl[..8]);
        Assert.Equal(new byte[] { 0, 0, 0, 1 }, krl[8..12]);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 9 }, krl[12..20]);
    }
}
