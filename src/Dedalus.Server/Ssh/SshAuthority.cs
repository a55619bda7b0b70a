using System.Diagnostics.CodeAnalysis;
using Dedalus.OpenSsh;
using Dedalus.Server.Hosting;

namespace Dedalus.Server.Ssh;

/// <summary>
/// The certificate authorities, as the CA files hold them now. The user CA signs session certificates. Host
/// certificates come from one CA per machine, derived from the master host key <c>ca/host_ca</c> (HKDF-SHA256 over its
/// seed, salted with a fixed label, with the machine id as info): a session trusts only its own machine's CA, so a
/// machine whose root reads its own host key cannot pose as another machine, and the derivation needs no storage and
/// ends with the machine (ids are never reused). The master's own public key signs nothing and is trusted by nobody.
/// Keys are Ed25519, created on first start as OpenSSH private key files (0600, in a 0700 directory) under
/// <c>&lt;data-dir&gt;/ca</c> (<see cref="CaFiles"/>) and loaded afterwards. Private keys are never logged or returned.
/// <para>
/// <c>dedalus-server ca rotate</c> replaces keys in that directory while the server runs. <see cref="Current"/> notices
/// at the next use: it compares a <c>stat</c> of the three files that decide the keys with what it loaded, and loads
/// them again when one changed. A stat per use (about 5 us for the three; a user certificate costs 15 us to issue)
/// rather than inotify, because the first session created after <c>ca rotate</c> returns must already see the new CA:
/// a notification arrives when it arrives, a stat is in order with the request. The maintenance sweep uses the keys
/// too, so a server nobody calls still follows within <see cref="ServerOptions.SweepInterval"/>.
/// </para>
/// </summary>
public sealed class SshAuthority : IDisposable
{
    /// <summary>How long the server waits for <c>rotation.lock</c> while it creates missing keys at start.</summary>
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);

    private readonly CaFiles _files;
    private readonly ServerOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _reload = new();
    private Loaded _loaded;

    /// <summary>
    /// The keys loaded before the current ones: kept one rotation longer, because a caller may still be signing with the
    /// object it read just before the swap (every use is synchronous and takes microseconds; rotations are seconds apart).
    /// </summary>
    private CaKeys? _replaced;

    private SshAuthority(CaFiles files, Loaded loaded, ServerOptions options, ILogger logger)
    {
        _files = files;
        _loaded = loaded;
        _options = options;
        _logger = logger;
    }

    /// <summary>The comment of a machine's host CA public key line in <c>host_trust</c>.</summary>
    public const string MachineHostCaComment = CaKeys.MachineHostCaComment;

    /// <summary>
    /// The keys as the CA files hold them now: the loaded ones, or a new load when a rotation changed a file since
    /// (logged with fingerprints). A file that cannot be read keeps the keys in use (logged as an error).
    /// </summary>
    public CaKeys Current
    {
        get
        {
            var loaded = Volatile.Read(ref _loaded);
            var stamp = _files.Stamp();
            return stamp == loaded.Stamp ? loaded.Keys : Reload(stamp);
        }
    }

    /// <summary>Loads the CA keys from the data directory, creating what is missing (a first start): the keys and <c>server_secret</c>.</summary>
    public static SshAuthority LoadOrCreate(ServerOptions options, ILogger logger)
    {
        var files = CaFiles.Of(options);
        files.EnsureDirectory();
        CaFileStamp stamp;
        CaKeys keys;

        // Under the lock a rotation takes: keys made here and the .pub files repaired here are never crossed by one.
        using (files.TryLock(LockTimeout) ?? throw new IOException($"{files.LockPath} is held by another process (a `dedalus-server ca rotate`?) for more than {LockTimeout.TotalSeconds:0} s"))
        {
            CreateIfMissing(files.UserCaPath, CaFiles.UserCaComment, logger);
            CreateIfMissing(files.HostCaPath, CaFiles.HostCaComment, logger);

            // Made with the keys (read later by ServerSecret), so that the directory is complete from the first start.
            files.LoadOrCreateServerSecret();

            // Taken before the files are read: a change while they are read is seen at the next use.
            stamp = files.Stamp();
            keys = CaKeys.Load(files, options);
            CaFiles.RepairPublicKey(files.UserCaPath, keys.UserCa, CaFiles.UserCaComment);
            CaFiles.RepairPublicKey(files.HostCaPath, keys.HostMaster, CaFiles.HostCaComment);
        }

        ServerLog.CaKeyLoaded(logger, CaFiles.UserCaComment, keys.UserCa.Fingerprint);
        ServerLog.CaKeyLoaded(logger, CaFiles.HostCaComment, keys.HostMaster.Fingerprint);
        LogRetired(logger, keys);
        return new SshAuthority(files, new Loaded(keys, stamp), options, logger);
    }

    /// <summary>Parses a client public key line; the error names the problem.</summary>
    public static bool TryParseClientKey(string? line, [NotNullWhen(true)] out SshPublicKey? key, [NotNullWhen(false)] out string? error)
    {
        key = null;
        if (string.IsNullOrWhiteSpace(line))
        {
            error = "public_key is required: an OpenSSH public key line such as 'ssh-ed25519 AAAA...'";
            return false;
        }

        var trimmed = line.Trim();
        if (trimmed.Contains('\n', StringComparison.Ordinal) || trimmed.Contains('\r', StringComparison.Ordinal))
        {
            error = "public_key must be a single line";
            return false;
        }

        if (!SshPublicKey.TryParse(trimmed, out key, out var parseError))
        {
            error = "public_key: " + parseError;
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>
    /// The public key line of <paramref name="machineId"/>'s host CA under the current master: what a session's
    /// <c>host_trust</c> names (see <see cref="CaKeys.MachineHostCaPublicKey"/>).
    /// </summary>
    public string MachineHostCaPublicKey(string machineId) => Current.MachineHostCaPublicKey(machineId);

    /// <summary>A fresh host key and certificate for <paramref name="machineId"/> from its host CA under the current master (see <see cref="CaKeys.IssueHostIdentity"/>).</summary>
    public MachineHostIdentity IssueHostIdentity(string machineId, DateTimeOffset now) => Current.IssueHostIdentity(machineId, now);

    public void Dispose()
    {
        lock (_reload)
        {
            _loaded.Keys.Dispose();
            _replaced?.Dispose();
            _replaced = null;
        }
    }

    private CaKeys Reload(CaFileStamp stamp)
    {
        lock (_reload)
        {
            var loaded = _loaded;
            if (stamp == loaded.Stamp)
            {
                return loaded.Keys;
            }

            CaKeys keys;
            try
            {
                keys = CaKeys.Load(_files, _options);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SshFormatException or InvalidDataException or ArgumentException)
            {
                // Keep signing with what works; the stamp is taken so the error is logged once per change of the files.
                ServerLog.CaReloadFailed(_logger, _files.Directory, ex);
                Volatile.Write(ref _loaded, loaded with { Stamp = stamp });
                return loaded.Keys;
            }

            var previous = loaded.Keys;
            if (!keys.UserCa.Equals(previous.UserCa))
            {
                ServerLog.UserCaRotated(_logger, keys.UserCa.Fingerprint, previous.UserCa.Fingerprint);
            }

            if (!keys.HostMaster.Equals(previous.HostMaster))
            {
                ServerLog.HostCaRotated(_logger, keys.HostMaster.Fingerprint, previous.HostMaster.Fingerprint);
            }

            LogRetired(_logger, keys);
            _replaced?.Dispose();
            _replaced = previous;
            Volatile.Write(ref _loaded, new Loaded(keys, stamp));
            return keys;
        }
    }

    private static void CreateIfMissing(string path, string comment, ILogger logger)
    {
        if (File.Exists(path))
        {
            return;
        }

        using var key = SshPrivateKey.GenerateEd25519();
        CaFiles.WriteKey(path, key, comment);
        ServerLog.CaKeyCreated(logger, comment, key.PublicKey.Fingerprint);
    }

    private static void LogRetired(ILogger logger, CaKeys keys)
    {
        foreach (var retired in keys.RetiredUserCas)
        {
            ServerLog.RetiredUserCaLoaded(logger, retired.Key.Fingerprint, retired.TrustedUntil);
        }
    }

    /// <summary>The keys in use and the stamp of the files they were read from (one reference, swapped whole).</summary>
    private sealed record Loaded(CaKeys Keys, CaFileStamp Stamp);
}
