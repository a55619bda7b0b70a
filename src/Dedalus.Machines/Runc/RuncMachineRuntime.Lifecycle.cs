using System.Diagnostics;
using System.Globalization;
using Dedalus.Machines.Host;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    /// <inheritdoc />
    public async Task StartAsync(string machineId, CancellationToken cancellationToken = default)
    {
        var paths = PathsOf(machineId);
        using var held = await LockAsync(machineId, cancellationToken).ConfigureAwait(false);
        var record = ReadRecord(machineId, paths);
        var status = await _runc.StatusAsync(machineId, cancellationToken).ConfigureAwait(false);
        if (status == "running" && MountsAreLive(paths) && await HostTreeMountedInsideAsync(machineId, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var stopwatch = Stopwatch.StartNew();
        if (status is not null || MountTable.Under(paths.Root).Count > 0)
        {
            // Half-created container, stopped init or stale mounts (host process died mid-way): clean, then start.
            RuncLog.MachineRepairing(_logger, machineId, status ?? "none");
            await SleepCoreAsync(machineId, paths, cancellationToken).ConfigureAwait(false);
        }

        EnsureDataDirectoryTraversable();
        SecureMachinesDirectory();
        await EnsureTrustDirectoryAsync(cancellationToken).ConfigureAwait(false);
        await EnsureHostTreeAsync(cancellationToken).ConfigureAwait(false);
        var hostNetwork = Task.CompletedTask;
        try
        {
            // The host's side of networking (bridge, rules, forwarder) while the machine's own files are mounted.
            hostNetwork = EnsureHostNetworkAsync(record, cancellationToken);
            var leaving = InSharedRangeToLeave(record);
            if (leaving)
            {
                record = record with { UidBase = await ClaimUidRangeAsync(paths, cancellationToken).ConfigureAwait(false) };
            }

            await MountAsync(machineId, paths, record, leaving, cancellationToken).ConfigureAwait(false);
            if (leaving)
            {
                // Only once its files are in the new range: a start that fails before this moves it again (idempotent).
                WriteRecord(paths, record);
            }

            using (var config = new FileStream(paths.ConfigJson, FileMode.Create, FileAccess.Write))
            {
                OciSpec.WriteConfig(config, machineId, paths, record, _options);
            }

            await _runc.RunDetachedAsync(machineId, paths, cancellationToken).ConfigureAwait(false);
            await hostNetwork.ConfigureAwait(false);

            // Its network namespace and its mount namespace are set up at once: neither depends on the other.
            await Task.WhenAll(
                NetworkUpAsync(machineId, record, cancellationToken),
                MountInsideHostTreeAsync(machineId, cancellationToken)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MachineRuntimeException or IOException)
        {
            // The host network step may still run (a mount failed first): it ends before the clean-up.
            await hostNetwork.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            RuncLog.MachineStartFailed(_logger, machineId, e);
            await SleepCoreAsync(machineId, paths, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        RuncLog.MachineStarted(_logger, machineId, stopwatch.ElapsedMilliseconds);
    }

    /// <inheritdoc />
    public Task StopAsync(string machineId, CancellationToken cancellationToken = default) =>
        StopAsync(machineId, TimeSpan.Zero, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// The machine's lock is held throughout, the grace included: other operations on the machine (a
    /// <see cref="SetMemoryAsync"/> too) wait for the stop; <see cref="ReadMemoryAsync"/> does not.
    /// </remarks>
    public async Task StopAsync(string machineId, TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gracePeriod, TimeSpan.Zero);
        var paths = PathsOf(machineId);
        using var held = await LockAsync(machineId, cancellationToken).ConfigureAwait(false);
        _ = ReadRecord(machineId, paths);
        var stopwatch = Stopwatch.StartNew();
        if (gracePeriod > TimeSpan.Zero)
        {
            await TerminateAsync(machineId, gracePeriod, cancellationToken).ConfigureAwait(false);
        }

        await SleepCoreAsync(machineId, paths, cancellationToken).ConfigureAwait(false);
        RuncLog.MachineStopped(_logger, machineId, stopwatch.ElapsedMilliseconds);
    }

    /// <summary>Kills and removes the container, unmounts root and home, wipes the root file system's upper layer.</summary>
    private async Task SleepCoreAsync(string machineId, MachinePaths paths, CancellationToken cancellationToken)
    {
        await EndAllExecutionsAsync(machineId).ConfigureAwait(false);
        await _runc.DeleteAsync(machineId, cancellationToken).ConfigureAwait(false);
        _highEvents.TryRemove(machineId, out _);
        RemoveExecutionsGroup(machineId);
        await MountTable.UnmountAllAsync(paths.Root, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        await NetworkDownAsync(machineId, cancellationToken).ConfigureAwait(false);
        var left = MountTable.Under(paths.Root);
        if (left.Count > 0)
        {
            throw new MachineRuntimeException(machineId, $"{left[0].MountPoint} stays mounted");
        }

        // The home's file system lives on until the machine's mount namespace (which holds it at /home/machine and in the
        // host tree's mirror) is torn down, after its last process: mounting the image again before that would run two
        // instances of one ext4 file system, the new one blind to what the old has not written yet.
        if (!await LoopDevices.WaitUntilReleasedAsync(paths.HomeImage, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false))
        {
            throw new MachineRuntimeException(
                machineId, $"the home image is still attached to {string.Join(", ", LoopDevices.Backing(paths.HomeImage))} after 30 s");
        }

        // <root>/upper and <root>/work: where earlier versions kept the changes, on the host's disk.
        foreach (var directory in new[] { paths.Upper, paths.Work, Path.Combine(paths.Root, "upper"), Path.Combine(paths.Root, "work") })
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }

        if (Directory.Exists(paths.Exec))
        {
            foreach (var file in Directory.EnumerateFiles(paths.Exec))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>
    /// Home: the ext4 image on a loop device. Root: overlay of the shared base (through the machine's idmapped view of it)
    /// and a fresh upper layer on a tmpfs. The two are independent and made at once (the loop device's set-up is the
    /// slower). <paramref name="leavingSharedRange"/>: the machine's own files move from the shared range to its own
    /// first (<see cref="MoveToOwnRangeAsync"/>).
    /// </summary>
    private async Task MountAsync(string machineId, MachinePaths paths, MachineManifest record, bool leavingSharedRange, CancellationToken cancellationToken)
    {
        var root = Task.Run(() => MountRootAsync(machineId, paths, record, cancellationToken), cancellationToken);
        try
        {
            await MountHomeAsync(machineId, paths, UidBaseOf(record), leavingSharedRange, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Both finish before the caller cleans up after a failure of either.
            await root.ConfigureAwait(false);
        }
    }

    private async Task MountHomeAsync(string machineId, MachinePaths paths, int uidBase, bool leavingSharedRange, CancellationToken cancellationToken)
    {
        if (File.Exists(paths.HomeGrowPending))
        {
            await GrowHomeOfflineAsync(machineId, paths, cancellationToken).ConfigureAwait(false);
        }

        await HostCommand.RunCheckedAsync(
            "mount", ["-o", "loop,nosuid,nodev", paths.HomeImage, paths.Home], _options.CommandTimeout, machineId, cancellationToken).ConfigureAwait(false);
        if (leavingSharedRange)
        {
            await MoveToOwnRangeAsync(machineId, paths, uidBase, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task MountRootAsync(string machineId, MachinePaths paths, MachineManifest record, CancellationToken cancellationToken)
    {
        // The root file system's changes go to a tmpfs, not to the host's disk: a plain upper directory let a machine
        // fill the disk that the host, the server's database and every other machine share. tmpfs pages are charged
        // to the memory cgroup of the process that writes them (the machine's, which has no swap), and the size caps
        // them at half the machine's memory (tmpfs's own default share), so a full root file system is ENOSPC inside,
        // not an OOM loop. They are ephemeral anyway: reset at every wake (a resize applies to the size from the next wake).
        CreateDirectory(paths.Changes, Mode0711);
        var size = OciSpec.Invariant(OciSpec.MemoryBytes(record.MemoryMib) / 2);
        MountOrThrow(machineId, "dedalus-changes", paths.Changes, "tmpfs", NativeMethods.MountNoDevices, $"size={size},mode=0711");

        var root = UidBaseOf(record);
        CreateDirectory(paths.Upper, Mode0755);
        Ownership.Set(paths.Upper, root, root);
        CreateDirectory(paths.Work, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // Files the machine sees from the first instant: its name. Written into the upper layer, owned by its root.
        var etc = Path.Combine(paths.Upper, "etc");
        CreateDirectory(etc, Mode0755);
        Ownership.Set(etc, root, root);
        WriteOwnedFile(Path.Combine(etc, "hostname"), machineId + "\n", Mode0644, root);
        WriteOwnedFile(
            Path.Combine(etc, "hosts"),
            string.Create(CultureInfo.InvariantCulture, $"127.0.0.1\tlocalhost\n127.0.1.1\t{machineId}\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
            Mode0644,
            root);
        if (ResolverOf(record) is { } resolver)
        {
            // The instance's DNS forwarder, on the gateway address.
            WriteOwnedFile(Path.Combine(etc, "resolv.conf"), $"nameserver {resolver}\n", Mode0644, root);
        }

        var lower = BaseImage.RootFileSystem;
        if (root != _options.SharedUidBase)
        {
            await MountSharedViewsAsync(paths, root, cancellationToken).ConfigureAwait(false);
            lower = paths.Lower;
        }

        MountOrThrow(machineId, "overlay", paths.RootFs, "overlay", 0, $"lowerdir={lower},upperdir={paths.Upper},workdir={paths.Work}");
    }

    private static void MountOrThrow(string machineId, string source, string target, string fileSystemType, ulong flags, string data)
    {
        try
        {
            NativeMethods.Mount(source, target, fileSystemType, flags, data);
        }
        catch (IOException e)
        {
            throw new MachineRuntimeException(machineId, e.Message, e);
        }
    }

    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
}
