using System.Globalization;
using Dedalus.Machines.Host;
using Dedalus.Machines.Images;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    private const long GiB = 1024L * 1024 * 1024;

    private const long MinimumMemoryMib = 16;

    /// <inheritdoc />
    public async Task CreateAsync(MachineSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ValidateResources(spec.Resources);
        var paths = PathsOf(spec.MachineId);
        if (spec.Network is not null)
        {
            ValidateNetwork(spec.MachineId, spec.Network, RequireNetwork().Options);
        }

        EnsureDataDirectoryTraversable();
        await BaseImage.EnsureAsync(new LogProgress(_logger), cancellationToken).ConfigureAwait(false);
        await EnsureTrustDirectoryAsync(cancellationToken).ConfigureAwait(false);

        using var held = await LockAsync(spec.MachineId, cancellationToken).ConfigureAwait(false);
        if (File.Exists(paths.Record))
        {
            // Idempotent: keep storage, limits and network (ResizeAsync, ConfigureNetworkAsync change them); refresh the
            // SSH material. A machine created without a network takes the one asked for now.
            var existing = ReadRecord(spec.MachineId, paths);
            WriteSshMaterial(spec.MachineId, paths, spec.Ssh, UidBaseOf(existing));
            if (existing.Network is null && spec.Network is not null)
            {
                WriteRecord(paths, existing with { Network = MachineNetworkRecord.From(spec.Network) });
            }

            return;
        }

        if (MountTable.Under(paths.Root).Count > 0)
        {
            await SleepCoreAsync(spec.MachineId, paths, cancellationToken).ConfigureAwait(false);
        }

        CreateDirectory(_options.DataDirectory, Mode0711);
        SecureMachinesDirectory();

        // The directory first (closed): a range's claim names it, and holds while it exists.
        CreateDirectory(paths.Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var uidBase = await ClaimUidRangeAsync(paths, cancellationToken).ConfigureAwait(false);
        SecureMachineRoot(paths, uidBase);
        foreach (var directory in new[] { paths.Bundle, paths.RootFs, paths.Exec })
        {
            CreateDirectory(directory, Mode0711);
        }

        CreateDirectory(paths.Home, Mode0755);
        WriteSshMaterial(spec.MachineId, paths, spec.Ssh, uidBase);
        await CreateHomeImageAsync(spec.MachineId, paths, spec.Resources.StorageGib, uidBase, cancellationToken).ConfigureAwait(false);

        // The record last: its presence means the machine is complete.
        WriteRecord(paths, MachineManifest.From(spec.MachineId, spec.Resources) with
        {
            Network = spec.Network is null ? null : MachineNetworkRecord.From(spec.Network),
            UidBase = uidBase,
        });
        RuncLog.MachineCreated(_logger, spec.MachineId, spec.Resources.Vcpu, spec.Resources.MemoryMib, spec.Resources.StorageGib);
    }

    private static void ValidateResources(MachineResources resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        if (resources.Vcpu <= 0 || resources.MemoryMib < MinimumMemoryMib || resources.StorageGib < 1)
        {
            throw new ArgumentException(
                $"invalid resources: vcpu {resources.Vcpu}, memory {resources.MemoryMib} MiB, storage {resources.StorageGib} GiB", nameof(resources));
        }
    }

    /// <summary>A sparse ext4 image of the storage size, its root owned by the machine user, seeded with /etc/skel.</summary>
    private async Task CreateHomeImageAsync(string machineId, MachinePaths paths, long storageGib, int uidBase, CancellationToken cancellationToken)
    {
        var machineHostId = uidBase + BaseImage.MachineUid;
        var owner = $"{machineHostId.ToString(CultureInfo.InvariantCulture)}:{machineHostId.ToString(CultureInfo.InvariantCulture)}";
        var staging = Path.Combine(paths.Root, "home-staging");
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        CreateDirectory(staging, Mode0755);
        try
        {
            var skeleton = Path.Combine(BaseImage.RootFileSystem, "etc/skel");
            foreach (var file in Directory.EnumerateFiles(skeleton))
            {
                var target = Path.Combine(staging, Path.GetFileName(file));
                File.Copy(file, target);
                Ownership.Set(target, machineHostId, machineHostId);
            }

            Ownership.Set(staging, machineHostId, machineHostId);
            File.Delete(paths.HomeImage);
            using (var image = new FileStream(paths.HomeImage, FileMode.CreateNew, FileAccess.Write))
            {
                image.SetLength(storageGib * GiB);
            }

            File.SetUnixFileMode(paths.HomeImage, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            await HostCommand.RunCheckedAsync(
                "mkfs.ext4",
                ["-F", "-q", "-m", "0", "-L", "dedalus-home", "-E", $"root_owner={owner}", "-d", staging, paths.HomeImage],
                _options.CommandTimeout,
                machineId,
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>sshd configuration, host key, host certificate and principals, owned by the machine's root, not writable by others.</summary>
    private static void WriteSshMaterial(string machineId, MachinePaths paths, MachineSshMaterial ssh, int root)
    {
        ArgumentNullException.ThrowIfNull(ssh);
        CreateDirectory(paths.Ssh, Mode0755);
        Ownership.Set(paths.Ssh, root, root);
        const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        WriteOwnedFile(Path.Combine(paths.Ssh, MachineSshd.ConfigFileName), MachineSshd.RenderConfig(), Mode0644, root);
        WriteOwnedFile(Path.Combine(paths.Ssh, MachineSshd.HostKeyFileName), WithNewline(ssh.HostPrivateKey), Mode0600, root);
        WriteOwnedFile(Path.Combine(paths.Ssh, MachineSshd.HostCertificateFileName), WithNewline(ssh.HostCertificate), Mode0644, root);
        WriteOwnedFile(Path.Combine(paths.Ssh, MachineSshd.PrincipalsFileName), machineId + "\n", Mode0644, root);
    }

    private static string WithNewline(string text) => text.EndsWith('\n') ? text : text + "\n";

    /// <summary>Write to a temporary file, set owner and mode, then rename: readers see the old or the new file, whole.</summary>
    private static void WriteOwnedFile(string path, string contents, UnixFileMode mode, int owner) =>
        WriteOwnedFile(path, System.Text.Encoding.UTF8.GetBytes(contents), mode, owner);

    private static void WriteOwnedFile(string path, ReadOnlySpan<byte> contents, UnixFileMode mode, int owner) =>
        OwnedFile.Write(path, contents, mode, owner);

    private static string StageOwnedFile(string path, ReadOnlySpan<byte> contents, UnixFileMode mode, int owner) =>
        OwnedFile.Stage(path, contents, mode, owner);
}
