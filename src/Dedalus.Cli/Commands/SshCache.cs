namespace Dedalus.Cli.Commands;

/// <summary>
/// The dedalus-managed OpenSSH files of <c>dedalus ssh-config</c>: <c>$DEDALUS_SSH_DIR</c>, else
/// <c>$XDG_CACHE_HOME/dedalus/ssh</c>, else <c>~/.cache/dedalus/ssh</c> (0700).
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

        var cacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return new SshCache(Path.Combine(cacheHome, "dedalus", "ssh"));
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
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Writes a 0600 file atomically (temporary file, then rename), so a concurrent ssh never reads half of it.</summary>
    public static void WriteAtomically(string path, string contents)
    {
        var temporary = path + "." + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(contents));
        }

        File.Move(temporary, path, overwrite: true);
    }
}
