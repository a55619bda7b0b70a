using System.Diagnostics;
using Dedalus.Client;

namespace Dedalus.Cli.Processes;

/// <summary>
/// Ed25519 key pairs for sessions. In-process (libsodium) when it loads; otherwise, as the official TypeScript CLI
/// does, with <c>ssh-keygen</c>: a <c>dedalus</c> copied out of its build directory (to ~/.local/bin, say) leaves the
/// bundled <c>libsodium.so</c> behind, and the distribution's libsodium may be another version than the one it needs.
/// </summary>
internal static class KeyGenerator
{
    public static SshKeyPair GenerateEd25519(string comment = "")
    {
        try
        {
            return SshKeyPair.GenerateEd25519(comment);
        }
        catch (Exception e) when (e is PlatformNotSupportedException or DllNotFoundException or TypeInitializationException or InvalidOperationException)
        {
            return WithSshKeygen(comment, e);
        }
    }

    /// <summary>How to get OpenSSH's client on this platform, for error messages.</summary>
    internal static string InstallOpenSshHint =>
        OperatingSystem.IsWindows() ? "Settings > System > Optional features > OpenSSH Client, or winget install Microsoft.OpenSSH.Preview"
        : OperatingSystem.IsMacOS() ? "it ships with macOS; check PATH"
        : "apt-get install openssh-client";

    private static SshKeyPair WithSshKeygen(string comment, Exception inProcessFailure)
    {
        var sshKeygen = Executables.Find("ssh-keygen")
            ?? throw new CliException(
                $"cannot generate an SSH key: libsodium did not load ({inProcessFailure.Message.ReplaceLineEndings(" ")}) and ssh-keygen is not on PATH: " +
                $"install OpenSSH ({InstallOpenSshHint}), or keep the native libsodium built with dedalus next to it");
        var directory = Directory.CreateTempSubdirectory("dedalus-keygen-");
        try
        {
            var keyPath = Path.Combine(directory.FullName, "key");
            var startInfo = new ProcessStartInfo(sshKeygen)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            foreach (var argument in new[] { "-q", "-t", "ed25519", "-N", string.Empty, "-C", comment, "-f", keyPath })
            {
                startInfo.ArgumentList.Add(argument);
            }

            using var process = Process.Start(startInfo) ?? throw new CliException("could not start ssh-keygen");
            process.StandardInput.Close();
            var error = process.StandardError.ReadToEnd();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new CliException($"ssh-keygen failed (exit {process.ExitCode}): {error.Trim()}");
            }

            return SshKeyPair.FromOpenSsh(File.ReadAllText(keyPath), File.ReadAllText(keyPath + ".pub"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
