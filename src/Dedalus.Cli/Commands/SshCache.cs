using Dedalus.Cli.Configuration;
using Dedalus.Client.Platform;

namespace Dedalus.Cli.Commands;

/// <summary>
/// The dedalus-managed OpenSSH files of <c>dedalus ssh-config</c>: <c>$DEDALUS_SSH_DIR</c>, else
/// <c>$XDG_CACHE_HOME/dedalus/ssh</c>, else <c>~/.cache/dedalus/ssh</c> (Linux and macOS) or
/// <c>%LOCALAPPDATA%\dedalus\ssh</c> (Windows); private to the user (0700, or an owner-only ACL on Windows).
/// </summary>
internal sealed class SshCache
{
    public SshCache(string directory)
    {
        Directory = Path.GetFullPath(directory);
    }

    public string Directory { get; }

    public string KeyPath => Path.Combine(Directory, "id_ed25519");

    public string PublicKeyPath => KeyPath + ".pub";

    /// <summary>
    /// The known_hosts file all machines shared before each machine had its own host CA. Nothing reads it any more; it is
    /// removed, since it may still trust the retired global host CA, whose certificates never expired.
    /// </summary>
    public string LegacyKnownHostsPath => Path.Combine(Directory, "known_hosts");

    /// <summary>One known_hosts file per machine: <c>known_hosts.d/&lt;host&gt;</c>.</summary>
    public string KnownHostsDirectory => Path.Combine(Directory, "known_hosts.d");

    public string HostsDirectory => Path.Combine(Directory, "hosts");

    public string CertificatesDirectory => Path.Combine(Directory, "certs");

    public static SshCache Default()
    {
        if (Environment.GetEnvironmentVariable("DEDALUS_SSH_DIR") is { Length: > 0 } explicitDirectory)
        {
            return new SshCache(explicitDirectory);
        }

        return new SshCache(Path.Combine(CliPaths.CacheHome(), "dedalus", "ssh"));
    }

    public string CertificatePath(string machineId) => Path.Combine(CertificatesDirectory, machineId + "-cert.pub");

    public string HostConfigPath(string machineId) => Path.Combine(HostsDirectory, machineId + ".conf");

    /// <summary>
    /// The known_hosts file of one machine, holding only that machine's <c>@cert-authority</c> line. One file per machine
    /// because every machine's line has the same host pattern (the gateway's name, any port) and OpenSSH accepts a host
    /// certificate that ANY matching line's CA signed: in a shared file, machine A's CA would vouch for machine B.
    /// </summary>
    public string KnownHostsPath(string machineId) => Path.Combine(KnownHostsDirectory, machineId);

    public void EnsureDirectories()
    {
        foreach (var directory in new[] { Directory, HostsDirectory, CertificatesDirectory, KnownHostsDirectory })
        {
            PrivateFiles.CreateDirectory(directory);
        }
    }

    /// <summary>
    /// A path as one word of an ssh_config line: as is when plain, else double-quoted with <c>\</c> and <c>"</c>
    /// escaped (OpenSSH splits config lines like a command line, so an unquoted Windows path would lose a doubled
    /// backslash, and a path with a space would be two words).
    /// </summary>
    public static string ConfigWord(string path) =>
        path.Length > 0 && path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_' or '+' or ':' or '=' or '@' or ',' or '*' or '~')
            ? path
            : Dedalus.Client.SshSessionFiles.Quote(path);

    /// <summary>Writes a private (0600) file atomically (temporary file, then rename), so a concurrent ssh never reads half of it.</summary>
    public static void WriteAtomically(string path, string contents) => PrivateFiles.WriteAtomically(path, contents);
}
