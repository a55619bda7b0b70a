using System.Text;
using Dedalus.Client.Ssh;
using Dedalus.OpenSsh;
using Dedalus.Testing.Sshd;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Dedalus.Client.Tests;

/// <summary>
/// SSH.NET misreads about one Ed25519 key in 512 (a public key starting 0xFF, 0x80+; see
/// <see cref="SshPublicKey.IsMisreadBySignedIntegerParsers"/>): it cannot pair such a user key with its certificate, nor
/// verify a host that signs with such a key. Our keys never have that prefix: the SDK's, and the host keys and host CAs
/// of the server, which the server tests check.
/// </summary>
public sealed class SshNetKeyTests
{
    [Fact]
    public void SSH_NET_cannot_pair_a_misread_key_with_its_certificate_and_pairs_every_key_the_SDK_generates()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        var ca = new SshCertificateAuthority(caKey);
        using var misread = FindMisreadKey();

        Assert.ThrowsAny<Exception>(() => Pair(ca, misread.ToOpenSshFormat(), misread.PublicKey.ToOpenSshString(), 1));
        for (var i = 0; i < 2000; i++)
        {
            var pair = SshKeyPair.GenerateEd25519();
            Assert.NotNull(Pair(ca, pair.PrivateKey, pair.PublicKey, (ulong)i + 2).Key);
        }
    }

    [Fact]
    public async Task SSH_NET_refuses_a_host_whose_key_it_misreads_and_accepts_the_same_setup_with_a_key_the_library_generates()
    {
        using var misread = FindMisreadKey();
        using var portable = SshPrivateKey.GenerateEd25519();

        var refused = await ConnectAsync(misread);
        var accepted = await ConnectAsync(portable);

        Assert.Contains("Host key could not be verified", refused, StringComparison.Ordinal);
        Assert.Equal("ok", accepted);
    }

    private static async Task<string> ConnectAsync(SshPrivateKey hostKey)
    {
        await using var sshd = await OpenSshServer.StartAsync("dm-test", (hostKey.ToOpenSshFormat(), hostKey.PublicKey.ToOpenSshString()));
        var user = SshKeyPair.GenerateEd25519();
        var connection = sshd.Connection(await sshd.SignUserKeyAsync(user.PublicKey));
        using var key = new MemoryStream(Encoding.UTF8.GetBytes(user.PrivateKey));
        using var cert = new MemoryStream(Encoding.UTF8.GetBytes(connection.UserCertificate + "\n"));
        var info = new ConnectionInfo("127.0.0.1", sshd.Port, sshd.UserName, new PrivateKeyAuthenticationMethod(sshd.UserName, new PrivateKeyFile(key, null, cert)))
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        var verifier = new HostCertificateVerifier(connection, TimeProvider.System);
        using var client = new SshClient(info);
        client.HostKeyReceived += (_, e) => e.CanTrust = verifier.Verify(e.HostKeyName, e.Certificate);
        try
        {
            await client.ConnectAsync(CancellationToken.None);
            return verifier.Failure ?? "ok";
        }
        catch (SshException e)
        {
            return e.Message;
        }
    }

    private static PrivateKeyFile Pair(SshCertificateAuthority ca, string privateKey, string publicKey, ulong serial)
    {
        var now = DateTimeOffset.UtcNow;
        var certificate = ca.Issue(new SshCertificateSpec
        {
            Key = SshPublicKey.Parse(publicKey),
            Type = SshCertificateType.User,
            Serial = serial,
            KeyId = "ss-test",
            Principals = ["dm-test"],
            ValidAfter = now,
            ValidBefore = now.AddHours(1),
            Extensions = SshCertificateSpec.DefaultUserExtensions,
        }).ToOpenSshString();

        using var key = new MemoryStream(Encoding.UTF8.GetBytes(privateKey));
        using var cert = new MemoryStream(Encoding.UTF8.GetBytes(certificate + "\n"));
        return new PrivateKeyFile(key, null, cert);
    }

    /// <summary>An Ed25519 key with the prefix SSH.NET misreads, found among keys from counted seeds.</summary>
    private static SshPrivateKey FindMisreadKey()
    {
        var seed = new byte[32];
        for (var i = 0; ; i++)
        {
            BitConverter.GetBytes(i).CopyTo(seed, 0);
            var key = SshPrivateKey.FromEd25519Seed(seed);
            if (key.PublicKey.IsMisreadBySignedIntegerParsers)
            {
                return key;
            }

            key.Dispose();
        }
    }
}
