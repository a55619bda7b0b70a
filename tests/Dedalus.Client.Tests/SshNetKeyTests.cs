using System.Text;
using Dedalus.OpenSsh;
using Renci.SshNet;

namespace Dedalus.Client.Tests;

/// <summary>
/// SSH.NET refuses to pair about one Ed25519 key in 500 with its certificate (a public key starting 0xFF, 0x80+). The
/// keys <c>ConnectAsync</c> uses never have that prefix, and SSH.NET accepts each with a certificate of our CA.
/// </summary>
public sealed class SshNetKeyTests
{
    [Fact]
    public void A_key_with_the_prefix_is_recognised()
    {
        var key = new byte[32];
        key[0] = 0xFF;
        key[1] = 0x9D;
        Assert.True(SshSessionsResource.HasSshNetUnsafePrefix(Line(key)));
        key[1] = 0x7F;
        Assert.False(SshSessionsResource.HasSshNetUnsafePrefix(Line(key)));
        key[0] = 0xFE;
        key[1] = 0xFF;
        Assert.False(SshSessionsResource.HasSshNetUnsafePrefix(Line(key)));
    }

    [Fact]
    public void Every_key_connect_generates_pairs_with_its_certificate_in_SSH_NET()
    {
        using var caKey = SshPrivateKey.GenerateEd25519();
        var ca = new SshCertificateAuthority(caKey);
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < 3000; i++)
        {
            var pair = SshSessionsResource.GenerateKeyForSshNet();
            var certificate = ca.Issue(new SshCertificateSpec
            {
                Key = SshPublicKey.Parse(pair.PublicKey),
                Type = SshCertificateType.User,
                Serial = (ulong)i + 1,
                KeyId = "ss-test",
                Principals = ["dm-test"],
                ValidAfter = now,
                ValidBefore = now.AddHours(1),
                Extensions = SshCertificateSpec.DefaultUserExtensions,
            }).ToOpenSshString();

            using var key = new MemoryStream(Encoding.UTF8.GetBytes(pair.PrivateKey));
            using var cert = new MemoryStream(Encoding.UTF8.GetBytes(certificate + "\n"));
            using var file = new PrivateKeyFile(key, null, cert);
            Assert.NotNull(file.Key);
        }
    }

    private static string Line(byte[] key)
    {
        var type = Encoding.ASCII.GetBytes("ssh-ed25519");
        var blob = new byte[4 + type.Length + 4 + key.Length];
        blob[3] = (byte)type.Length;
        type.CopyTo(blob, 4);
        blob[4 + type.Length + 3] = (byte)key.Length;
        key.CopyTo(blob, 4 + type.Length + 4);
        return "ssh-ed25519 " + Convert.ToBase64String(blob);
    }
}
