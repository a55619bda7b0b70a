using System.Text.Json;
using Dedalus.Machines.Host;

namespace Dedalus.Machines.Runc;

/// <summary>
/// Each machine's own host uid range. Root inside a machine is the first uid of its range (<see cref="MachineManifest.UidBase"/>),
/// claimed from <see cref="RuncRuntimeOptions.MachineUids"/> at creation and kept for the machine's life, so two machines
/// never share a host uid: a process that escapes one machine, or a host tool that trusts file ownership, sees another
/// machine's files and processes as another owner's. The machine's own files (its home, its SSH material, its root file
/// system's changes) are stored in its range; the shared files (the base userland and the host tree, stored once in the
/// shared range) are seen through idmapped mounts made for it at every wake (<see cref="IdmappedMounts"/>).
/// <para>
/// Machines created before per-machine ranges (records without a range) ran in the shared range; each moves to a range
/// of its own at its next start: its home's owners and its SSH material move with it. A machine running at the upgrade
/// keeps its shared range until it sleeps.
/// </para>
/// </summary>
public sealed partial class RuncMachineRuntime
{
    private const UnixFileMode Mode0710 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute;

    private int _machineRootsSecured;

    /// <summary>
    /// The user namespace of each machine's idmapped views, by the range's first uid: made by a process at the machine's
    /// first start in this runtime instance and kept (a descriptor each) for the next wakes, which then cost no process.
    /// Only the machine's own operations (serialized by its lock) touch its entry.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, Microsoft.Win32.SafeHandles.SafeFileHandle> _viewMappings = new();

    /// <summary>The host uid root inside maps to.</summary>
    private int UidBaseOf(MachineManifest record) => record.UidBase ?? _options.SharedUidBase;

    /// <summary>Whether the machine must move out of the shared range at its next start.</summary>
    private bool InSharedRangeToLeave(MachineManifest record) => _uidRanges is not null && UidBaseOf(record) == _options.SharedUidBase;

    /// <summary>The machine's range: the one it holds (claims are idempotent per machine directory), else the lowest free.</summary>
    private async Task<int> ClaimUidRangeAsync(MachinePaths paths, CancellationToken cancellationToken) =>
        _uidRanges is null
            ? _options.SharedUidBase
            : await _uidRanges.ClaimAsync(paths.Root, OwnUidRanges(), cancellationToken).ConfigureAwait(false);

    /// <summary>The ranges this runtime's machine records name, with their directories.</summary>
    private List<(string Root, int UidBase)> OwnUidRanges()
    {
        var ranges = new List<(string, int)>();
        if (!Directory.Exists(_options.MachinesDirectory))
        {
            return ranges;
        }

        foreach (var root in Directory.EnumerateDirectories(_options.MachinesDirectory))
        {
            var record = TryReadRecordAt(root);
            if (record?.UidBase is { } uidBase)
            {
                ranges.Add((root, uidBase));
            }
        }

        return ranges;
    }

    private static MachineManifest? TryReadRecordAt(string machineRoot)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(machineRoot, "machine.json")), RuncJsonContext.Default.MachineManifest);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The machine's directory: root:&lt;its root's gid&gt;, mode 0710. Below it are its root file system (mounted on the
    /// host without nosuid: sudo inside needs setuid) and its home; only host root and the machine's own root (through
    /// the group bit, as runc's init must reach the bundle and the mount sources) pass.
    /// </summary>
    private static void SecureMachineRoot(MachinePaths paths, int uidBase)
    {
        CreateDirectory(paths.Root, Mode0710);
        Ownership.Set(paths.Root, 0, uidBase);
    }

    /// <summary>Once per runtime instance: every machine directory gets the owner and mode <see cref="SecureMachineRoot"/> gives (older versions left them 0711).</summary>
    private void SecureMachineRootsOnce()
    {
        if (Interlocked.Exchange(ref _machineRootsSecured, 1) == 1 || !Directory.Exists(_options.MachinesDirectory))
        {
            return;
        }

        foreach (var root in Directory.EnumerateDirectories(_options.MachinesDirectory))
        {
            if (TryReadRecordAt(root) is { } record)
            {
                SecureMachineRoot(new MachinePaths(_options.MachinesDirectory, Path.GetFileName(root)), UidBaseOf(record));
            }
        }
    }

    /// <summary>
    /// Moves a machine's own files from the shared range to <paramref name="uidBase"/>: its home (mounted), its SSH
    /// material and its directory. Idempotent: owners already moved stay, so a start interrupted half-way finishes the
    /// move at the next.
    /// </summary>
    private async Task MoveToOwnRangeAsync(string machineId, MachinePaths paths, int uidBase, CancellationToken cancellationToken)
    {
        var shared = _options.SharedUidBase;
        var size = _options.UidMapSize;
        var home = await Ownership.MoveRangeAsync(paths.Home, shared, uidBase, size, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        var ssh = await Ownership.MoveRangeAsync(paths.Ssh, shared, uidBase, size, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        SecureMachineRoot(paths, uidBase);
        RuncLog.MachineMovedToOwnUidRange(_logger, machineId, uidBase, uidBase + size - 1, home + ssh);
    }

    /// <summary>
    /// The idmapped views of the shared files for a machine in its own range: the base userland (its root file system's
    /// lower layer) at <see cref="MachinePaths.Lower"/> and the host tree at <see cref="MachinePaths.HostTree"/>, each
    /// showing the shared range as the machine's. Read-only: the machine writes to its overlay's upper layer.
    /// </summary>
    private async Task MountSharedViewsAsync(MachinePaths paths, int uidBase, CancellationToken cancellationToken)
    {
        if (!_viewMappings.TryGetValue(uidBase, out var mapping))
        {
            mapping = await IdmappedMounts.UserNamespaceAsync(
                _options.SharedUidBase, uidBase, _options.UidMapSize, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            _viewMappings[uidBase] = mapping;
        }

        foreach (var (source, target) in new[] { (BaseImage.RootFileSystem, paths.Lower), (_options.HostTreeDirectory, paths.HostTree) })
        {
            CreateDirectory(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            IdmappedMounts.MountReadOnly(source, target, mapping);
        }
    }
}
