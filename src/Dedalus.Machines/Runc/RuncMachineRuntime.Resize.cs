using Dedalus.Machines.Host;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    /// <inheritdoc />
    /// <exception cref="MachineRuntimeException">Storage would shrink, or the new limits cannot be applied.</exception>
    public async Task ResizeAsync(string machineId, MachineResources resources, CancellationToken cancellationToken = default)
    {
        ValidateResources(resources);
        var paths = PathsOf(machineId);
        using var held = await LockAsync(machineId, cancellationToken).ConfigureAwait(false);
        var current = ReadRecord(machineId, paths);
        if (resources.StorageGib < current.StorageGib)
        {
            throw new MachineRuntimeException(
                machineId, $"storage only grows: {machineId} has {current.StorageGib} GiB, {resources.StorageGib} GiB asked");
        }

        // The memory limit becomes the resized one (an autoresized limit included); the hold mode stays.
        var updated = current with { Vcpu = resources.Vcpu, MemoryMib = resources.MemoryMib, StorageGib = resources.StorageGib };
        var running = await _runc.StatusAsync(machineId, cancellationToken).ConfigureAwait(false) == "running";
        if (resources.StorageGib > current.StorageGib)
        {
            await GrowHomeAsync(machineId, paths, resources.StorageGib, cancellationToken).ConfigureAwait(false);
        }

        if (running)
        {
            await _runc.UpdateAsync(machineId, updated, cancellationToken).ConfigureAwait(false);

            // runc applies the hold mode of the container's start (its state), not the one SetMemoryAsync set since, and
            // on cgroup v2 knows nothing of memory.high: the cgroup files are set again from the record.
            ApplyMemoryLive(machineId, updated);
        }

        // config.json is written from the record at every start.
        WriteRecord(paths, updated);
        RuncLog.MachineResized(_logger, machineId, resources.Vcpu, resources.MemoryMib, resources.StorageGib, running);
    }

    /// <summary>Grows the sparse image and its ext4: online through the loop device when mounted, offline otherwise.</summary>
    private async Task GrowHomeAsync(string machineId, MachinePaths paths, long storageGib, CancellationToken cancellationToken)
    {
        using (var image = new FileStream(paths.HomeImage, FileMode.Open, FileAccess.Write))
        {
            image.SetLength(storageGib * GiB);
        }

        var mount = MountTable.Find(paths.Home);
        if (mount is not null && mount.Source.StartsWith("/dev/loop", StringComparison.Ordinal))
        {
            await HostCommand.RunCheckedAsync("losetup", ["--set-capacity", mount.Source], _options.CommandTimeout, machineId, cancellationToken)
                .ConfigureAwait(false);
            var online = await HostCommand.RunAsync("resize2fs", [mount.Source], _options.CommandTimeout, cancellationToken)
                .ConfigureAwait(false);
            if (!online.Succeeded)
            {
                // Online growth needs CAP_SYS_RESOURCE (some sandboxed hosts lack it): grow offline at the next wake.
                RuncLog.HomeGrowDeferred(_logger, machineId, online.StandardError.Trim());
                await File.WriteAllTextAsync(paths.HomeGrowPending, string.Empty, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        await GrowHomeOfflineAsync(machineId, paths, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Grows an unmounted home file system to its image's size.</summary>
    private async Task GrowHomeOfflineAsync(string machineId, MachinePaths paths, CancellationToken cancellationToken)
    {
        // e2fsck exit codes 0 and 1 mean clean or corrected; resize2fs wants a fresh check before an offline resize.
        var check = await HostCommand.RunAsync("e2fsck", ["-f", "-p", paths.HomeImage], _options.CommandTimeout, cancellationToken)
            .ConfigureAwait(false);
        if (check.ExitCode > 1)
        {
            throw new MachineRuntimeException(machineId, $"e2fsck of the home image failed ({check.ExitCode}): {check.StandardError.Trim()}");
        }

        await HostCommand.RunCheckedAsync("resize2fs", [paths.HomeImage], _options.CommandTimeout, machineId, cancellationToken)
            .ConfigureAwait(false);
        File.Delete(paths.HomeGrowPending);
    }
}
