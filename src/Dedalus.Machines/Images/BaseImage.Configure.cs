using Dedalus.Machines.Host;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Images;

public sealed partial class BaseImage
{
    private const UnixFileMode Mode0755 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Runs (as host root, before owners are shifted) the steps that turn debootstrap's tree into a machine's userland.</summary>
    private static async Task ConfigureAsync(string rootfs, CancellationToken cancellationToken)
    {
        // The machine user: uid 1000, bash, no password but an unlocked account ('*', not '!': sshd refuses locked accounts).
        await HostCommand.RunCheckedAsync(
            "chroot",
            [rootfs, "useradd", "--uid", "1000", "--user-group", "--create-home", "--home-dir", MachineSshd.HomeDirectory,
                "--shell", "/bin/bash", "--password", "*", MachineSshd.UserName],
            StepTimeout,
            cancellationToken: cancellationToken).ConfigureAwait(false);

        var sudoers = Path.Combine(rootfs, "etc/sudoers.d/dedalus-machine");
        await File.WriteAllTextAsync(sudoers, $"{MachineSshd.UserName} ALL=(ALL:ALL) NOPASSWD: ALL\n", cancellationToken).ConfigureAwait(false);
        File.SetUnixFileMode(sudoers, UnixFileMode.UserRead | UnixFileMode.GroupRead);

        // Each machine gets its own host key through /etc/ssh/dedalus; the keys debootstrap generated are nobody's.
        foreach (var hostKey in Directory.EnumerateFiles(Path.Combine(rootfs, "etc/ssh"), "ssh_host_*"))
        {
            File.Delete(hostKey);
        }

        // The mount point of the host tree (the sshd that authenticates, the init): the base's own sshd never runs.
        var hostTree = Path.Combine(rootfs, MachineSshd.HostTreeMountPoint.TrimStart('/'));
        Directory.CreateDirectory(hostTree);
        File.SetUnixFileMode(hostTree, Mode0755);

        // Downloaded packages and indexes are not needed at run time.
        foreach (var deb in Directory.EnumerateFiles(Path.Combine(rootfs, "var/cache/apt/archives"), "*.deb"))
        {
            File.Delete(deb);
        }
    }
}
