using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dedalus.Machines.Host;
using Dedalus.Machines.Images;
using Dedalus.Machines.Network;
using Dedalus.Machines.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dedalus.Machines.Runc;

/// <summary>
/// Machines as runc containers, one OCI bundle each, on a shared Debian base (overlay, reset on every wake),
/// with a persistent ext4 home, a user namespace mapping a host uid range of its own (see <c>RuncMachineRuntime.UidRange.cs</c>),
/// cgroup limits and only a loopback network, or with <see cref="RuncRuntimeOptions.Network"/> an interface with NAT,
/// DNS and an egress policy per machine (see <c>RuncMachineRuntime.Network.cs</c>). State lives on disk (<see cref="RuncRuntimeOptions.DataDirectory"/>)
/// and in runc's state directory, so a new instance adopts the machines an earlier process started.
/// Operations on one machine are serialized; different machines proceed in parallel.
/// </summary>
public sealed partial class RuncMachineRuntime : IMachineRuntime
{
    private const UnixFileMode Mode0711 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private const UnixFileMode Mode0755 = Mode0711 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly RuncRuntimeOptions _options;
    private readonly RuncCli _runc;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _trustLock = new(1, 1);
    private readonly HostNetwork? _network;
    private readonly UidRangeRegistry? _uidRanges;

    public RuncMachineRuntime(RuncRuntimeOptions options, ILogger<RuncMachineRuntime>? logger = null, BaseImage? baseImage = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.DataDirectory);
        _options = options with { DataDirectory = Path.GetFullPath(options.DataDirectory) };
        _runc = new RuncCli(_options);
        _logger = logger ?? NullLogger<RuncMachineRuntime>.Instance;
        BaseImage = baseImage ?? new BaseImage(_options.BaseCacheDirectory, _options.DebianMirror, _options.SharedUidBase);
        _network = _options.Network is { } network
            ? new HostNetwork(network, Path.Combine(_options.DataDirectory, "network"), _options.CommandTimeout, _logger)
            : null;
        _uidRanges = _options.MachineUids is { } pool ? new UidRangeRegistry(_options.UidRangeRegistry, pool) : null;
    }

    /// <summary>The shared base userland; call <see cref="BaseImage.EnsureAsync"/> at start to provision it with progress.</summary>
    public BaseImage BaseImage { get; }

    /// <summary>The effective options (data directory made absolute).</summary>
    public RuncRuntimeOptions Options => _options;

    /// <inheritdoc />
    public async Task<MachineRuntimeState> GetStateAsync(string machineId, CancellationToken cancellationToken = default)
    {
        var paths = PathsOf(machineId);
        if (!File.Exists(paths.Record))
        {
            return MachineRuntimeState.Missing;
        }

        var status = await _runc.StatusAsync(machineId, cancellationToken).ConfigureAwait(false);
        return status switch
        {
            null => MountTable.Under(paths.Root).Count == 0 ? MachineRuntimeState.Sleeping : MachineRuntimeState.Broken,
            "running" => MountsAreLive(paths) && await HostTreeMountedInsideAsync(machineId, cancellationToken).ConfigureAwait(false)
                ? MachineRuntimeState.Running
                : MachineRuntimeState.Broken,
            _ => MachineRuntimeState.Broken,
        };
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!Directory.Exists(_options.MachinesDirectory))
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }

        IReadOnlyList<string> ids = [.. Directory.EnumerateDirectories(_options.MachinesDirectory)
            .Where(d => File.Exists(Path.Combine(d, "machine.json")))
            .Select(d => Path.GetFileName(d))
            .Order(StringComparer.Ordinal)];
        return Task.FromResult(ids);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string machineId, CancellationToken cancellationToken = default)
    {
        var paths = PathsOf(machineId);
        using var held = await LockAsync(machineId, cancellationToken).ConfigureAwait(false);
        if (!Directory.Exists(paths.Root))
        {
            return;
        }

        await SleepCoreAsync(machineId, paths, cancellationToken).ConfigureAwait(false);
        var remaining = MountTable.Under(paths.Root);
        if (remaining.Count > 0)
        {
            // Never recurse into a mounted home or base.
            throw new MachineRuntimeException(machineId, $"cannot delete: {remaining[0].MountPoint} is still mounted");
        }

        var record = TryReadRecordAt(paths.Root);
        Directory.Delete(paths.Root, recursive: true);
        if (_uidRanges is not null && record?.UidBase is { } uidBase)
        {
            await _uidRanges.ReleaseAsync(paths.Root, uidBase, cancellationToken).ConfigureAwait(false);
            if (_viewMappings.TryRemove(uidBase, out var mapping))
            {
                mapping.Dispose();
            }
        }

        await NetworkForgetAsync(cancellationToken).ConfigureAwait(false);
        RuncLog.MachineDeleted(_logger, machineId);
    }

    internal MachinePaths PathsOf(string machineId)
    {
        ValidateId(machineId);
        return new MachinePaths(_options.MachinesDirectory, machineId);
    }

    private static void ValidateId(string machineId)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineId);
        if (!MachineIdPattern().IsMatch(machineId))
        {
            throw new ArgumentException($"invalid machine id '{machineId}': lower-case letters, digits and '-', at most 63", nameof(machineId));
        }
    }

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex MachineIdPattern();

    private async Task<Releaser> LockAsync(string machineId, CancellationToken cancellationToken)
    {
        var semaphore = _locks.GetOrAdd(machineId, _ => new SemaphoreSlim(1, 1));
        await semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(semaphore);
    }

    private MachineManifest ReadRecord(string machineId, MachinePaths paths)
    {
        if (!File.Exists(paths.Record))
        {
            throw new MachineNotFoundException(machineId, innerException: null);
        }

        var json = File.ReadAllBytes(paths.Record);
        return JsonSerializer.Deserialize(json, RuncJsonContext.Default.MachineManifest)
            ?? throw new MachineRuntimeException(machineId, $"machine record of {machineId} is empty");
    }

    private static void WriteRecord(MachinePaths paths, MachineManifest record)
    {
        var temporary = paths.Record + ".tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(record, RuncJsonContext.Default.MachineManifest));
        File.Move(temporary, paths.Record, overwrite: true);
    }

    private bool MountsAreLive(MachinePaths paths)
    {
        var mounts = MountTable.Read();
        return mounts.Any(m => m.MountPoint == paths.RootFs && m.FileSystemType == "overlay")
            && mounts.Any(m => m.MountPoint == paths.Home && m.FileSystemType == "ext4");
    }

    /// <summary>
    /// runc's init runs as the machine's root (a host uid of its own range), an "other" user to
    /// every host directory: it must be able to traverse every ancestor of the data directory to reach the bundle,
    /// root file system and bind-mount sources. Fails early with a clear message instead of a runc mount error.
    /// </summary>
    private void EnsureDataDirectoryTraversable()
    {
        for (var directory = Path.GetDirectoryName(_options.DataDirectory); directory is not null; directory = Path.GetDirectoryName(directory))
        {
            if (Directory.Exists(directory) && (File.GetUnixFileMode(directory) & UnixFileMode.OtherExecute) == 0)
            {
                throw new MachineRuntimeException(
                    $"the machines' roots (unprivileged host uids) cannot traverse {directory}, an ancestor of the " +
                    $"runtime data directory {_options.DataDirectory}: allow it with 'chmod o+x {directory}' (mode 0711 lists nothing)");
            }
        }
    }

    /// <summary>
    /// The machines directory: root:root, mode 0711 (nobody lists the machines). Each machine's directory below it lets
    /// only host root and that machine's root through (<see cref="SecureMachineRoot"/>); machine directories an older
    /// version left open are closed once.
    /// </summary>
    private void SecureMachinesDirectory()
    {
        CreateDirectory(_options.MachinesDirectory, Mode0711);
        Ownership.Set(_options.MachinesDirectory, 0, 0);
        SecureMachineRootsOnce();
    }

    private static void CreateDirectory(string path, UnixFileMode mode)
    {
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, mode);
    }

    /// <summary>Reports base provisioning to the log in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class LogProgress(ILogger logger) : IProgress<string>
    {
        public void Report(string value) => RuncLog.BaseImageProgress(logger, value);
    }

    private sealed class Releaser(SemaphoreSlim semaphore) : IDisposable
    {
        public void Dispose() => semaphore.Release();
    }
}
