using System.Diagnostics;
using System.Globalization;
using Dedalus.Machines.Host;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dedalus.Machines.Images;

/// <summary>
/// The shared, read-only Debian userland every machine's root file system is an overlay of. Built once per
/// host by <c>debootstrap</c> into <c>&lt;cache&gt;/&lt;version&gt;-uid&lt;base&gt;/rootfs</c> (in a temporary directory,
/// renamed when complete; a lock file keeps concurrent processes from building twice), then owned by the
/// user namespace's mapped range so root inside a machine owns its files.
/// </summary>
public sealed partial class BaseImage
{
    /// <summary>Version of the recipe below; bump it when the recipe changes so hosts rebuild.</summary>
    public const string Version = "bookworm-2";

    /// <summary>uid (and gid) of the <c>machine</c> user inside.</summary>
    public const int MachineUid = 1000;

    /// <summary>Debian packages on top of <c>minbase</c>.</summary>
    public static readonly IReadOnlyList<string> Packages =
        ["openssh-server", "sudo", "tini", "busybox-static", "procps", "bash", "coreutils", "rsync", "less", "ca-certificates"];

    private static readonly SemaphoreSlim ProcessLock = new(1, 1);
    private static readonly TimeSpan DebootstrapTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(2);

    private readonly string _versionDirectory;
    private readonly string _mirror;
    private readonly int _sharedUidBase;
    private readonly ILogger _logger;

    public BaseImage(
        string cacheDirectory = BaseImageDefaults.CacheDirectory,
        string mirror = BaseImageDefaults.DebianMirror,
        int sharedUidBase = 100000,
        ILogger<BaseImage>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        _versionDirectory = Path.Combine(Path.GetFullPath(cacheDirectory), $"{Version}-uid{sharedUidBase.ToString(CultureInfo.InvariantCulture)}");
        _mirror = mirror;
        _sharedUidBase = sharedUidBase;
        _logger = logger ?? NullLogger<BaseImage>.Instance;
    }

    /// <summary>The finished root file system (the overlay's lower directory).</summary>
    public string RootFileSystem => Path.Combine(_versionDirectory, "rootfs");

    /// <summary>Whether the base is built.</summary>
    public bool IsReady => Directory.Exists(RootFileSystem);

    /// <summary>
    /// Builds the base unless it is there already; returns <see cref="RootFileSystem"/>. The first run takes
    /// about 30 s and 250 MB; <paramref name="progress"/> hears what happens.
    /// </summary>
    public async Task<string> EnsureAsync(IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        if (IsReady)
        {
            RestrictVersionDirectory();
            return RootFileSystem;
        }

        await ProcessLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(_versionDirectory);
            RestrictVersionDirectory();
            using var fileLock = await AcquireFileLockAsync(progress, cancellationToken).ConfigureAwait(false);
            if (IsReady)
            {
                return RootFileSystem;
            }

            await BuildAsync(progress, cancellationToken).ConfigureAwait(false);
            return RootFileSystem;
        }
        finally
        {
            ProcessLock.Release();
        }
    }

    /// <summary>
    /// Only host root enters the version directory: the base's setuid programs (sudo, su, mount, ...) are owned by the
    /// mapped root and would run as it for any host user. Overlay mounts (by host root) and machines do not need more.
    /// </summary>
    private void RestrictVersionDirectory() =>
        File.SetUnixFileMode(_versionDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    private async Task<FileStream> AcquireFileLockAsync(IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var lockPath = _versionDirectory + ".lock";
        var announced = false;
        while (true)
        {
            try
            {
                // On Unix, FileShare.None takes an exclusive flock(2): another process holding it makes this throw.
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                if (!announced)
                {
                    progress?.Report("waiting for another process that is provisioning the base userland");
                    announced = true;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task BuildAsync(IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        progress?.Report($"provisioning base userland (first run, ~30 s) into {RootFileSystem}");
        BaseImageLog.BaseImageBuilding(_logger, RootFileSystem, _mirror);

        // Leftovers of an interrupted build (debootstrap may have left /proc or /sys mounted inside).
        foreach (var stale in Directory.EnumerateDirectories(_versionDirectory, "rootfs.tmp-*"))
        {
            await MountTable.UnmountAllAsync(stale, StepTimeout, cancellationToken).ConfigureAwait(false);
            if (MountTable.Under(stale).Count == 0)
            {
                Directory.Delete(stale, recursive: true);
            }
        }

        var temporary = Path.Combine(_versionDirectory, $"rootfs.tmp-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}");
        try
        {
            await HostCommand.RunCheckedAsync(
                "debootstrap",
                ["--variant=minbase", $"--include={string.Join(',', Packages)}", "bookworm", temporary, _mirror],
                DebootstrapTimeout,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            progress?.Report($"debootstrap done in {stopwatch.Elapsed.TotalSeconds:F0} s; configuring");

            await ConfigureAsync(temporary, cancellationToken).ConfigureAwait(false);
            var files = await Ownership.ShiftAsync(temporary, _sharedUidBase, StepTimeout, cancellationToken).ConfigureAwait(false);
            progress?.Report($"owned {files} files by the mapped range starting at uid {_sharedUidBase}");

            Directory.Move(temporary, RootFileSystem);
        }
        finally
        {
            if (Directory.Exists(temporary))
            {
                await MountTable.UnmountAllAsync(temporary, StepTimeout, CancellationToken.None).ConfigureAwait(false);
                if (MountTable.Under(temporary).Count == 0)
                {
                    Directory.Delete(temporary, recursive: true);
                }
            }
        }

        var megabytes = await MeasureMegabytesAsync(cancellationToken).ConfigureAwait(false);
        progress?.Report($"base userland ready in {stopwatch.Elapsed.TotalSeconds:F0} s ({megabytes} MB)");
        BaseImageLog.BaseImageBuilt(_logger, RootFileSystem, stopwatch.ElapsedMilliseconds, megabytes);
    }

    private async Task<long> MeasureMegabytesAsync(CancellationToken cancellationToken)
    {
        var du = await HostCommand.RunAsync("du", ["-sxm", RootFileSystem], StepTimeout, cancellationToken).ConfigureAwait(false);
        var first = du.StandardOutput.Split('\t', 2)[0];
        return long.TryParse(first, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : -1;
    }
}
