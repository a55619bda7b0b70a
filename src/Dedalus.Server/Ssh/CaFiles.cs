using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dedalus.OpenSsh;

namespace Dedalus.Server.Ssh;

/// <summary>
/// The CA directory <c>&lt;data-dir&gt;/ca</c>, or the one <c>--ca-dir</c> names for every node of a cluster (0700),
/// shared by the server, which creates it and reads it, and by <c>dedalus-server ca</c>, which rotates keys in it while
/// the server runs or not:
/// <code>
/// user_ca, user_ca.pub     the user CA: signs session certificates (OpenSSH private key, 0600; public key beside)
/// user_ca.retired          user CAs replaced by `ca rotate --user`: one line each, "TRUSTED-UNTIL PUBLIC-KEY-LINE";
///                          public keys only, their private keys are gone
/// host_ca, host_ca.pub     the master every machine's host CA derives from (Ed25519, 0600)
/// server_secret            32 random bytes (0600): the server's MAC keys derive from it; never rotated with a CA
/// rotation.lock            held (flock) by whoever writes the directory, so that two rotations never interleave
/// </code>
/// Every file is written whole beside its target, flushed, and renamed over it, so a reader (the running server) sees
/// the old file or the new one, never a part. A rotation writes <c>user_ca.retired</c> before <c>user_ca</c>, and the
/// server reads them in the other order, so a server that sees a new user CA also sees the old one among the retired.
/// Nothing here logs or returns private key material.
/// </summary>
public sealed class CaFiles
{
    public const string DirectoryName = "ca";
    public const string UserCaFileName = "user_ca";
    public const string HostCaFileName = "host_ca";
    public const string RetiredUserCasFileName = "user_ca.retired";
    public const string ServerSecretFileName = "server_secret";
    public const string LockFileName = "rotation.lock";

    /// <summary>The comment of the user CA's key lines (its file, <c>TrustedUserCAKeys</c>).</summary>
    public const string UserCaComment = "dedalus-user-ca";

    /// <summary>The comment of the master host key's lines.</summary>
    public const string HostCaComment = "dedalus-host-ca";

    /// <summary>Bytes of <c>server_secret</c>.</summary>
    public const int ServerSecretLength = 32;

    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PublicFile = PrivateFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode PrivateDirectory = PrivateFile | UnixFileMode.UserExecute;

    public CaFiles(string dataDirectory)
        : this(dataDirectory, isCaDirectory: false)
    {
    }

    private CaFiles(string directory, bool isCaDirectory)
    {
        Directory = isCaDirectory ? directory : Path.Combine(directory, DirectoryName);
    }

    /// <summary>The CA directory itself (<c>--ca-dir</c>): one every node of a cluster shares.</summary>
    public static CaFiles InDirectory(string caDirectory) => new(caDirectory, isCaDirectory: true);

    /// <summary>The server's CA directory: <see cref="Hosting.ServerOptions.CaDirectory"/>, else <c>&lt;data-dir&gt;/ca</c>.</summary>
    public static CaFiles Of(Hosting.ServerOptions options) =>
        options.CaDirectory is { } shared ? InDirectory(shared) : new CaFiles(options.DataDirectory);

    public string Directory { get; }

    public string UserCaPath => Path.Combine(Directory, UserCaFileName);

    public string HostCaPath => Path.Combine(Directory, HostCaFileName);

    public string RetiredUserCasPath => Path.Combine(Directory, RetiredUserCasFileName);

    public string ServerSecretPath => Path.Combine(Directory, ServerSecretFileName);

    public string LockPath => Path.Combine(Directory, LockFileName);

    /// <summary>Whether a server has made its CA keys here (what <c>dedalus-server ca</c> needs before it touches anything).</summary>
    public bool HasKeys => File.Exists(UserCaPath) && File.Exists(HostCaPath);

    /// <summary>Creates the directory (0700), or takes group and other access away from an existing one.</summary>
    public void EnsureDirectory()
    {
        System.IO.Directory.CreateDirectory(Directory, PrivateDirectory);
        File.SetUnixFileMode(Directory, PrivateDirectory);
    }

    /// <summary>
    /// What the server compares at each use to see whether the files changed: the modification time (to 100 ns) and
    /// length of the files that decide the keys. One <c>stat</c> each, no read. Every write is a new file renamed into
    /// place, whose time is its own write's: two rotations would need to end within one tick of the kernel's clock
    /// (a few milliseconds) to look alike, and each takes longer (a new key, flushed files, a process).
    /// </summary>
    public CaFileStamp Stamp() => new(Of(UserCaPath), Of(RetiredUserCasPath), Of(HostCaPath));

    /// <summary>Reads a private key file, first taking group and other access away from it if it has any.</summary>
    /// <exception cref="SshFormatException">The file is not an unencrypted OpenSSH private key.</exception>
    public static SshPrivateKey ReadKey(string path)
    {
        if ((File.GetUnixFileMode(path) & ~PrivateFile) != 0)
        {
            File.SetUnixFileMode(path, PrivateFile);
        }

        return SshPrivateKey.ParseOpenSshFormat(File.ReadAllText(path));
    }

    /// <summary>
    /// Writes <paramref name="key"/> to <paramref name="path"/> (0600) and its public key to <c>.pub</c> beside (0644).
    /// The public file goes first: the private file is the one that decides, so a crash between the two leaves the old
    /// key in force with a <c>.pub</c> that the next server start rewrites (<see cref="RepairPublicKey"/>).
    /// </summary>
    public static void WriteKey(string path, SshPrivateKey key, string comment)
    {
        WriteAtomically(path + ".pub", Encoding.UTF8.GetBytes(key.PublicKey.ToOpenSshString(comment) + "\n"), PublicFile);
        var text = Encoding.UTF8.GetBytes(key.ToOpenSshFormat(comment));
        try
        {
            WriteAtomically(path, text, PrivateFile);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(text);
        }
    }

    /// <summary>Rewrites <c>.pub</c> beside <paramref name="path"/> when it does not hold <paramref name="key"/>'s public key.</summary>
    public static void RepairPublicKey(string path, SshPublicKey key, string comment)
    {
        var pub = path + ".pub";
        if (File.Exists(pub) && SshPublicKey.TryParse(File.ReadAllText(pub).Trim(), out var written, out _) && written.Equals(key))
        {
            return;
        }

        WriteAtomically(pub, Encoding.UTF8.GetBytes(key.ToOpenSshString(comment) + "\n"), PublicFile);
    }

    /// <summary>The retired user CAs, oldest first; none when the file does not exist.</summary>
    /// <exception cref="InvalidDataException">A line is not <c>TRUSTED-UNTIL PUBLIC-KEY-LINE</c>; the message names it.</exception>
    public IReadOnlyList<RetiredUserCa> ReadRetiredUserCas()
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(RetiredUserCasPath);
        }
        catch (FileNotFoundException)
        {
            return [];
        }

        var retired = new List<RetiredUserCa>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var fields = line.Split(' ', 2, StringSplitOptions.TrimEntries);
            if (fields.Length != 2
                || !DateTimeOffset.TryParseExact(fields[0], RetiredUserCa.TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var until)
                || !SshPublicKey.TryParse(fields[1], out var key, out _))
            {
                throw new InvalidDataException($"{RetiredUserCasPath} line {i + 1}: expected '{RetiredUserCa.TimeFormat} ssh-ed25519 AAAA...'");
            }

            retired.Add(new RetiredUserCa(key, until));
        }

        return retired;
    }

    /// <summary>Replaces the retired user CAs' file.</summary>
    public void WriteRetiredUserCas(IReadOnlyList<RetiredUserCa> retired)
    {
        var text = new StringBuilder()
            .Append("# User CAs replaced by `dedalus-server ca rotate --user`, each trusted by machines until the UTC time before it.\n")
            .Append("# Public keys only: their private keys were deleted at the rotation.\n");
        foreach (var ca in retired)
        {
            text.Append(ca.TrustedUntil.UtcDateTime.ToString(RetiredUserCa.TimeFormat, CultureInfo.InvariantCulture))
                .Append(' ')
                .Append(ca.Key.ToOpenSshString(CaFiles.UserCaComment))
                .Append('\n');
        }

        WriteAtomically(RetiredUserCasPath, Encoding.UTF8.GetBytes(text.ToString()), PublicFile);
    }

    /// <summary>
    /// Reads <c>server_secret</c>, creating it (32 random bytes, 0600) when it does not exist. Of two creating at once,
    /// the first rename wins and the other reads it: a secret is never replaced once written.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not 32 bytes.</exception>
    public byte[] LoadOrCreateServerSecret()
    {
        if (!File.Exists(ServerSecretPath))
        {
            var created = RandomNumberGenerator.GetBytes(ServerSecretLength);
            if (WriteAtomically(ServerSecretPath, created, PrivateFile, overwrite: false))
            {
                return created;
            }
        }

        if ((File.GetUnixFileMode(ServerSecretPath) & ~PrivateFile) != 0)
        {
            File.SetUnixFileMode(ServerSecretPath, PrivateFile);
        }

        var secret = File.ReadAllBytes(ServerSecretPath);
        return secret.Length == ServerSecretLength
            ? secret
            : throw new InvalidDataException($"{ServerSecretPath} must hold {ServerSecretLength} bytes, not {secret.Length}: restore it from a backup, or delete it to make a new one (execution log read tokens issued before stop working)");
    }

    /// <summary>
    /// Takes <c>rotation.lock</c> (an exclusive <c>flock</c>, released with the returned handle or when the process ends),
    /// trying again until <paramref name="timeout"/> has passed; null when another process (or handle) still holds it.
    /// </summary>
    public IDisposable? TryLock(TimeSpan timeout)
    {
        var deadline = TimeProvider.System.GetUtcNow() + timeout;
        while (true)
        {
            try
            {
                // FileShare.None is an exclusive flock on Unix: advisory, between those who ask for it (the writers here).
                return new FileStream(LockPath, new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.ReadWrite,
                    Share = FileShare.None,
                    UnixCreateMode = PrivateFile,
                });
            }
            catch (IOException) when (File.Exists(LockPath) && TimeProvider.System.GetUtcNow() < deadline)
            {
                Thread.Sleep(50);
            }
            catch (IOException) when (File.Exists(LockPath))
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Writes a new file beside <paramref name="path"/> with <paramref name="mode"/>, flushes it to disk and renames it
    /// over <paramref name="path"/>: readers see the old file or the new one. The temporary file is removed on failure.
    /// Without <paramref name="overwrite"/>, an existing <paramref name="path"/> is kept and the result is false.
    /// </summary>
    private static bool WriteAtomically(string path, ReadOnlySpan<byte> contents, UnixFileMode mode, bool overwrite = true)
    {
        var temporary = $"{path}.tmp-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        try
        {
            using (var stream = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = mode,
            }))
            {
                stream.Write(contents);
                stream.Flush(flushToDisk: true);
            }

            // The umask may have taken bits away from UnixCreateMode; the mode is set before the file is in place.
            File.SetUnixFileMode(temporary, mode);
            if (overwrite)
            {
                File.Move(temporary, path, overwrite: true);
                return true;
            }

            // Without overwrite the move fails on an existing target, in one step on Linux (a no-replace rename, or link(2)).
            try
            {
                File.Move(temporary, path, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temporary);
                return false;
            }
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    private static (long Ticks, long Length) Of(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc.Ticks, info.Length) : (0, -1);
    }
}
