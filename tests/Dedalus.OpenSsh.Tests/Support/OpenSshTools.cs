using Dedalus.Testing;

namespace Dedalus.OpenSsh.Tests.Support;

/// <summary>Runs the real OpenSSH tools (the oracle) with a timeout and the UTC time zone.</summary>
internal static class OpenSshTools
{
    public const string SshKeygen = "/usr/bin/ssh-keygen";
    public const string Ssh = "/usr/bin/ssh";

    private static readonly Dictionary<string, string> Utc = new() { ["TZ"] = "UTC" };

    public static Task<ProcessResult> KeygenAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(SshKeygen, arguments, environment: Utc, timeout: TimeSpan.FromSeconds(60));

    public static async Task<ProcessResult> KeygenOkAsync(params string[] arguments)
    {
        var result = await KeygenAsync(arguments);
        Assert.True(result.ExitCode == 0, $"ssh-keygen {string.Join(' ', arguments)} failed: {result}");
        return result;
    }

    /// <summary>Generates a key with ssh-keygen; returns the private key path and the public key line.</summary>
    public static async Task<(string PrivateKeyPath, string PublicKeyLine)> GenerateKeyAsync(
        TempDirectory directory, string type, int? bits = null, string comment = "test-key", string passphrase = "")
    {
        var path = directory.Combine($"id_{type}_{bits}_{Guid.NewGuid():N}");
        var arguments = new List<string> { "-q", "-t", type, "-f", path, "-N", passphrase, "-C", comment };
        if (bits is not null)
        {
            arguments.AddRange(["-b", bits.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        await KeygenOkAsync([.. arguments]);
        return (path, (await File.ReadAllTextAsync(path + ".pub")).Trim());
    }

    /// <summary>Writes a certificate to a scratch file and returns what <c>ssh-keygen -L</c> reads from it.</summary>
    public static async Task<CertificateListing> ListCertificateAsync(string certificateLine)
    {
        using var directory = new TempDirectory();
        var path = directory.WriteFile("listed-cert.pub", certificateLine + "\n");
        var result = await KeygenOkAsync("-L", "-f", path);
        return CertificateListing.Parse(result.StandardOutput);
    }
}
