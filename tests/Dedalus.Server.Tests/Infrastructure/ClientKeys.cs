using Dedalus.Testing;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>Client keys made by ssh-keygen, the OpenSSH oracle.</summary>
public static class ClientKeys
{
    /// <summary>A new Ed25519 key <paramref name="name"/> in <paramref name="directory"/>: its public key line and private key path.</summary>
    public static async Task<(string PublicKey, string Path)> GenerateAsync(TempDirectory directory, string name)
    {
        var path = directory.Combine(name);
        var result = await ProcessRunner.RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path);
        Assert.True(result.ExitCode == 0, result.ToString());
        return ((await File.ReadAllTextAsync(path + ".pub")).Trim(), path);
    }
}
