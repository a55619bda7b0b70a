using System.Collections.Concurrent;
using Dedalus.Testing;

namespace Dedalus.OpenSsh.Tests.Support;

/// <summary>
/// Keys made once per test run by ssh-keygen (RSA generation is slow), and the hand-built
/// security-key lines, addressed by a short name usable as xunit theory data.
/// </summary>
internal static class SharedKeys
{
    private static readonly TempDirectory Directory = CreateDirectory();
    private static readonly ConcurrentDictionary<string, Lazy<Task<GeneratedKey>>> Keys = new();

    /// <summary>Every accepted subject key kind: ssh-keygen made, then hand-built sk keys.</summary>
    public static TheoryData<string> AllKinds => ["ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048", "rsa-3072", "sk-ed25519", "sk-ecdsa"];

    /// <summary>The kinds ssh-keygen can generate here (it has a private key file).</summary>
    public static TheoryData<string> GeneratedKinds => ["ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048", "rsa-3072"];

    public static Task<GeneratedKey> GetAsync(string kind) =>
        Keys.GetOrAdd(kind, k => new Lazy<Task<GeneratedKey>>(() => CreateAsync(k))).Value;

    /// <summary>A fresh key of a kind (not shared), for tests that need distinct keys.</summary>
    public static Task<GeneratedKey> CreateAsync(string kind)
    {
        switch (kind)
        {
            case "sk-ed25519":
                return Task.FromResult(new GeneratedKey(kind, null, TestKeys.SkEd25519Line()));
            case "sk-ecdsa":
                return Task.FromResult(new GeneratedKey(kind, null, TestKeys.SkEcdsaLine()));
            default:
                var dash = kind.IndexOf('-', StringComparison.Ordinal);
                var type = dash < 0 ? kind : kind[..dash];
                int? bits = dash < 0 ? null : int.Parse(kind[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                return GenerateAsync(kind, type, bits);
        }
    }

    private static async Task<GeneratedKey> GenerateAsync(string kind, string type, int? bits)
    {
        var (path, line) = await OpenSshTools.GenerateKeyAsync(Directory, type, bits, comment: $"{kind}@test");
        return new GeneratedKey(kind, path, line);
    }

    private static TempDirectory CreateDirectory()
    {
        var directory = new TempDirectory("dedalus-openssh-keys-");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => directory.Dispose();
        return directory;
    }
}

/// <summary>A public key line and, when ssh-keygen made it, the private key file path.</summary>
internal sealed record GeneratedKey(string Kind, string? PrivateKeyPath, string PublicKeyLine)
{
    public string ExpectedType => Kind switch
    {
        "ed25519" => SshKeyAlgorithms.Ed25519,
        "ecdsa-256" => SshKeyAlgorithms.EcdsaNistP256,
        "ecdsa-384" => SshKeyAlgorithms.EcdsaNistP384,
        "ecdsa-521" => SshKeyAlgorithms.EcdsaNistP521,
        "rsa-2048" or "rsa-3072" => SshKeyAlgorithms.Rsa,
        "sk-ed25519" => SshKeyAlgorithms.SkEd25519,
        "sk-ecdsa" => SshKeyAlgorithms.SkEcdsaNistP256,
        _ => throw new ArgumentOutOfRangeException(nameof(Kind)),
    };

    public SshPublicKey PublicKey => SshPublicKey.Parse(PublicKeyLine);
}
