using System.Security.Cryptography;
using System.Text;
using Dedalus.Server.Hosting;

namespace Dedalus.Server.Ssh;

/// <summary>
/// The server's own secret, <c>ca/server_secret</c>: 32 random bytes (0600), made on first start and never rotated
/// with a CA. Keys for MACs derive from it, so a host CA rotation (which replaces the master host key) leaves what was
/// keyed before valid: execution log read tokens, whose key came from the master host key before this file existed
/// (a server that creates it, on its first start after that version, makes the tokens then in flight stop working once).
/// Never logged or returned.
/// </summary>
public sealed class ServerSecret(byte[] secret)
{
    private readonly byte[] _secret = secret.Length == CaFiles.ServerSecretLength
        ? secret
        : throw new ArgumentException($"the server secret is {CaFiles.ServerSecretLength} bytes", nameof(secret));

    /// <summary>Reads <c>ca/server_secret</c>, creating it on first start.</summary>
    public static ServerSecret LoadOrCreate(ServerOptions options)
    {
        var files = CaFiles.Of(options);
        files.EnsureDirectory();
        return new ServerSecret(files.LoadOrCreateServerSecret());
    }

    /// <summary>
    /// A secret for <paramref name="purpose"/> (a MAC key): HKDF-SHA256 over the server secret, salt
    /// <c>dedalus server secret v1</c>, info the purpose. The same on every start; one purpose's key reveals nothing of
    /// another's or of the server secret.
    /// </summary>
    public byte[] Derive(string purpose, int length = 32)
    {
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        var derived = new byte[length];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _secret, derived, "dedalus server secret v1"u8, Encoding.UTF8.GetBytes(purpose));
        return derived;
    }
}
