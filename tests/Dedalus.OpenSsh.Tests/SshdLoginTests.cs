using Dedalus.OpenSsh.Tests.Support;

namespace Dedalus.OpenSsh.Tests;

/// <summary>
/// End to end against real OpenSSH: sshd trusts our CAs and KRL and presents our host
/// certificate; a real ssh client logs in with certificates we issued, or is refused.
/// </summary>
public sealed class SshdLoginTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Theory]
    [InlineData("ed25519")]
    [InlineData("ecdsa-256")]
    [InlineData("ecdsa-521")]
    [InlineData("rsa-2048")]
    public async Task A_certificate_we_issued_logs_in_with_real_ssh_and_runs_echo_ok(string kind)
    {
        var key = await SharedKeys.GetAsync(kind);
        var cert = Issue(sshd.UserCaKey, key.PublicKey, serial: 100, keyId: $"session-{kind}");

        await AssertLogsInAsync(key.PrivateKeyPath!, cert);
    }

    [Fact]
    public async Task A_private_key_file_we_wrote_logs_in_with_ssh_i()
    {
        using var user = SshPrivateKey.GenerateEd25519();
        var keyPath = sshd.WriteClientFile("id_ed25519", user.ToOpenSshFormat("ours"));
        var cert = Issue(sshd.UserCaKey, user.PublicKey, serial: 101, keyId: "our-key-file");

        await AssertLogsInAsync(keyPath, cert);
    }

    [Fact]
    public async Task A_certificate_from_the_second_trusted_ecdsa_ca_logs_in()
    {
        var key = await SharedKeys.GetAsync("ed25519");
        var cert = Issue(sshd.SecondUserCaKey, key.PublicKey, serial: 102, keyId: "ecdsa-ca");

        await AssertLogsInAsync(key.PrivateKeyPath!, cert);
    }

    [Fact]
    public async Task Sshd_logs_the_key_id_and_serial_of_the_accepted_certificate()
    {
        var key = await SharedKeys.GetAsync("ed25519");
        var cert = Issue(sshd.UserCaKey, key.PublicKey, serial: 4242, keyId: "sess_logged_id");
        var logStart = sshd.Log.Length;

        var result = await LoginAsync(key.PrivateKeyPath!, cert);

        Assert.Equal(0, result.ExitCode);
        Assert.True(
            await sshd.Log.WaitForAsync("ID sess_logged_id (serial 4242) CA ED25519 " + sshd.UserCaKey.PublicKey.Fingerprint, logStart),
            sshd.Log.Text[logStart..]);
    }

    [Fact]
    public async Task A_certificate_for_another_principal_is_refused()
    {
        var key = await SharedKeys.GetAsync("ed25519");
        var cert = Issue(sshd.UserCaKey, key.PublicKey, serial: 200, keyId: "other-principal", principal: "dm-another-machine");

        await AssertRefusedAsync(key.PrivateKeyPath!, cert, "Certificate does not contain an authorized principal");
    }

    [Fact]
    public async Task An_expired_certificate_is_refused()
    {
        var key = await SharedKeys.GetAsync("ed25519");
        var cert = Issue(sshd.UserCaKey, key.PublicKey, serial: 201, keyId: "expired", validAfter: Now.AddHours(-2), validBefore: Now.AddHours(-1));

        await AssertRefusedAsync(key.PrivateKeyPath!, cert, "Certificate invalid: expired");
    }

    [Fact]
    public async Task A_certificate_that_is_not_yet_valid_is_refused()
    {
        var key = await SharedKeys.GetAsync("ed25519");
        var cert = Issue(sshd.UserCaKey, key.PublicKey, serial: 202, keyId: "future", validAfter: Now.AddHours(1), validBefore: Now.AddHours(2));

        await AssertRefusedAsync(key.PrivateKeyPath!, cert, "Certificate invalid: not yet valid");
    }

    [Fact]
    public async Task A_certificate_revoked_by_serial_in_our_krl_is_refused()
    {
        var key = await SharedKeys.GetAsync("ed25519");
        var cert = Issue(sshd.UserCaKey, key.PublicKey, serial: SshdFixture.RevokedSerial, keyId: "not-revoked-by-id");

        await AssertRefusedAsync(key.PrivateKeyPath!, cert, "revoked by file");
    }

    [Fact]
    public async Task A_certificate_revoked_by_key_id_in_our_krl_is_refused()
    {
        var key = await SharedKeys.GetAsync("ed25519");
        var cert = Issue(sshd.UserCaKey, key.PublicKey, serial: 203, keyId: SshdFixture.RevokedKeyId);

        await AssertRefusedAsync(key.PrivateKeyPath!, cert, "revoked by file");
    }

    [Fact]
    public async Task A_certificate_signed_by_another_ca_is_refused()
    {
        using var otherCa = SshPrivateKey.GenerateEd25519();
        var key = await SharedKeys.GetAsync("ed25519");
        var cert = Issue(otherCa, key.PublicKey, serial: 204, keyId: "other-ca");

        await AssertRefusedAsync(key.PrivateKeyPath!, cert, $"Failed publickey for {sshd.UserName} from 127.0.0.1");
        Assert.Contains($"ID other-ca (serial 204) CA ED25519 {otherCa.PublicKey.Fingerprint}", sshd.Log.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_client_refuses_a_host_certificate_signed_by_another_ca()
    {
        using var otherHostCa = SshPrivateKey.GenerateEd25519();
        var key = await SharedKeys.GetAsync("ed25519");
        var cert = Issue(sshd.UserCaKey, key.PublicKey, serial: 205, keyId: "host-check");
        var certPath = sshd.WriteClientFile("id-cert.pub", cert.ToOpenSshString() + "\n");

        var result = await sshd.RunSshAsync(key.PrivateKeyPath!, certPath, sshd.KnownHostsFor(otherHostCa.PublicKey));

        Assert.Equal(255, result.ExitCode);
        Assert.DoesNotContain("ok", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Host key verification failed", result.StandardError, StringComparison.Ordinal);
    }

    private static SshCertificate Issue(
        SshPrivateKey ca,
        SshPublicKey key,
        ulong serial,
        string keyId,
        string principal = SshdFixture.Principal,
        DateTimeOffset? validAfter = null,
        DateTimeOffset? validBefore = null) =>
        new SshCertificateAuthority(ca).Issue(new SshCertificateSpec
        {
            Key = key,
            Type = SshCertificateType.User,
            Serial = serial,
            KeyId = keyId,
            Principals = [principal],
            ValidAfter = validAfter ?? Now.AddMinutes(-2),
            ValidBefore = validBefore ?? Now.AddMinutes(30),
            Extensions = SshCertificateSpec.DefaultUserExtensions,
        });

    private Task<Dedalus.Testing.ProcessResult> LoginAsync(string keyPath, SshCertificate cert)
    {
        var certPath = sshd.WriteClientFile("id-cert.pub", cert.ToOpenSshString() + "\n");
        return sshd.RunSshAsync(keyPath, certPath, sshd.KnownHostsFor(sshd.HostCaKey.PublicKey));
    }

    private async Task AssertLogsInAsync(string keyPath, SshCertificate cert)
    {
        var result = await LoginAsync(keyPath, cert);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("ok", result.StandardOutput.Trim());
    }

    private async Task AssertRefusedAsync(string keyPath, SshCertificate cert, string sshdReason)
    {
        var logStart = sshd.Log.Length;

        var result = await LoginAsync(keyPath, cert);

        Assert.Equal(255, result.ExitCode);
        Assert.Contains("Permission denied (publickey)", result.StandardError, StringComparison.Ordinal);
        Assert.True(await sshd.Log.WaitForAsync(sshdReason, logStart), $"sshd did not log '{sshdReason}':\n{sshd.Log.Text[logStart..]}");
    }
}
