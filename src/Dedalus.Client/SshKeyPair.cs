using Dedalus.OpenSsh;

namespace Dedalus.Client;

/// <summary>An ephemeral SSH key pair, in the text forms OpenSSH reads. Never sent anywhere but to local files.</summary>
public sealed class SshKeyPair
{
    private SshKeyPair(string privateKey, string publicKey)
    {
        PrivateKey = privateKey;
        PublicKey = publicKey;
    }

    /// <summary>The private key in OpenSSH format (<c>-----BEGIN OPENSSH PRIVATE KEY-----</c>), unencrypted.</summary>
    public string PrivateKey { get; }

    /// <summary>The public key as an authorized_keys line (<c>ssh-ed25519 AAAA...</c>), as sent to the API.</summary>
    public string PublicKey { get; }

    /// <summary>Generates a fresh Ed25519 key pair.</summary>
    /// <param name="comment">Comment stored in the private key file.</param>
    /// <returns>The key pair.</returns>
    public static SshKeyPair GenerateEd25519(string comment = "")
    {
        using var key = SshPrivateKey.GenerateEd25519();
        return new SshKeyPair(key.ToOpenSshFormat(comment), key.PublicKey.ToOpenSshString());
    }

    /// <summary>Wraps an existing key pair.</summary>
    /// <param name="privateKey">The private key in OpenSSH format.</param>
    /// <param name="publicKey">The matching authorized_keys line.</param>
    /// <returns>The key pair.</returns>
    public static SshKeyPair FromOpenSsh(string privateKey, string publicKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(privateKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKey);
        return new SshKeyPair(privateKey, publicKey.Trim());
    }
}
