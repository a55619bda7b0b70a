using System.Text;
using Dedalus.Machines.Host;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Runc;

/// <summary>
/// The host-owned tree every machine sees read-only at <see cref="MachineSshd.HostTreeMountPoint"/>: the programs
/// that must not be the machine's own (the sshd that authenticates connections, the init, a static busybox to chroot
/// into the tree), the libraries and the few files (<c>passwd</c>, <c>group</c>, <c>nsswitch.conf</c>) sshd reads,
/// and mount points for the per-machine sshd configuration, the host-wide trust, <c>/dev/null</c>, <c>/dev/pts</c>
/// and the machine's own root (<see cref="MachineSshd.ChrootDirectory"/>, where a logged-in session goes).
/// <para>
/// Built on the host under <c>&lt;data&gt;/host-tree</c> from the shared base userland (which machines cannot change: it
/// is only their overlay's lower layer). Root inside a machine cannot alter it: the bind mount is read-only and root
/// inside has no CAP_SYS_ADMIN to unmount or cover it; <c>/.dedalus</c> itself is a mount point, so it cannot be renamed.
/// The three programs are owned by host root and mode 0711: root inside can run them but not read them, so the kernel
/// makes their processes non-dumpable with the initial user namespace as their owner (execve's "would_dump"), and
/// neither ptrace nor <c>/proc/PID/fd</c>, <c>mem</c> or <c>environ</c> reach them from inside.
/// </para>
/// <para>
/// Directories are owned by the shared range's root (<see cref="RuncRuntimeOptions.SharedUidBase"/>), which each
/// machine's idmapped view of the tree shows as its own root (uid 0 inside), as sshd's checks of <c>ChrootDirectory</c>,
/// of its privilege separation directory and (StrictModes) of the principals file require.
/// </para>
/// </summary>
internal sealed class HostTree(string directory, string baseRootFileSystem, int mappedRoot)
{
    /// <summary>Programs copied from the base into <c>/dedalus</c> of the tree: name in the tree, path in the base.</summary>
    private static readonly (string Name, string Source)[] Programs =
    [
        ("sshd", "usr/sbin/sshd"),
        ("busybox", "usr/bin/busybox"),
        ("tini", "usr/bin/tini-static"),
    ];

    private const UnixFileMode Mode0711 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private const UnixFileMode Mode0755 = Mode0711 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>The tree on the host.</summary>
    public string Directory { get; } = directory;

    /// <summary>Host path of the mount point of the machine's sshd configuration directory.</summary>
    public string ConfigMountPoint => Combine(MachineSshd.ConfigDirectory);

    /// <summary>Host path of the mount point of the host-wide trust directory.</summary>
    public string TrustMountPoint => Combine(MachineSshd.TrustDirectory);

    /// <summary>
    /// Builds or refreshes the tree (idempotent; files are replaced by rename, so a running sshd is never torn).
    /// <paramref name="timeout"/> bounds the one host command (the base's <c>ldd</c>).
    /// </summary>
    public async Task EnsureAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        foreach (var (_, source) in Programs)
        {
            if (!File.Exists(Path.Combine(baseRootFileSystem, source)))
            {
                throw new MachineRuntimeException(
                    $"the base userland at {baseRootFileSystem} has no /{source}: it predates this version; remove it to have it provisioned again");
            }
        }

        MakeDirectory(string.Empty);
        foreach (var path in new[] { "etc", "etc/ssh", "run", "run/sshd", "dev", "lib", "lib64", "usr", "usr/lib", MachineSshd.ChrootDirectory })
        {
            MakeDirectory(path);
        }

        foreach (var mountPoint in new[] { MachineSshd.ConfigDirectory, MachineSshd.TrustDirectory })
        {
            MakeDirectory(mountPoint);
        }

        // /dev/null: a mount point for the machine's (pinned by the bind mount: root inside may replace the name in its
        // /dev, not the mounted inode). /dev/pts: the machine's own pseudo-terminals, through its root mirrored in the
        // tree, so that a session's terminal is named /dev/pts/N inside (every step of the path is a mount point: root
        // inside cannot swap one).
        WriteIfChanged("dev/null", [], Mode0644, mappedRoot);
        Symlink("dev/pts", "../" + MachineSshd.ChrootDirectory.TrimStart('/') + "/dev/pts");
        Symlink("dev/ptmx", "pts/ptmx");

        // Who sshd knows: the base's accounts (the machine user, sshd's privilege separation user, the tty group),
        // resolved from these files only.
        var baseEtc = Path.Combine(baseRootFileSystem, "etc");
        WriteIfChanged("etc/passwd", File.ReadAllBytes(Path.Combine(baseEtc, "passwd")), Mode0644, mappedRoot);
        WriteIfChanged("etc/group", File.ReadAllBytes(Path.Combine(baseEtc, "group")), Mode0644, mappedRoot);
        WriteIfChanged("etc/nsswitch.conf", Encoding.ASCII.GetBytes("passwd: files\ngroup: files\nshadow: files\nhosts: files\n"), Mode0644, mappedRoot);
        if (File.Exists(Path.Combine(baseEtc, "ssh/moduli")))
        {
            WriteIfChanged("etc/ssh/moduli", File.ReadAllBytes(Path.Combine(baseEtc, "ssh/moduli")), Mode0644, mappedRoot);
        }

        // sshd's libraries and loader, at the paths the base's loader resolves them to.
        foreach (var library in await LibrariesOfSshdAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            var relative = library.TrimStart('/');
            MakeDirectory(Path.GetDirectoryName(relative)!);
            WriteIfChanged(relative, File.ReadAllBytes(ResolveInBase(library)), Mode0755, 0);
        }

        // The programs: host root's, execute-only.
        var programs = Combine("/" + MachineSshd.ProgramsDirectory.TrimStart('/'));
        System.IO.Directory.CreateDirectory(programs);
        File.SetUnixFileMode(programs, Mode0755);
        Ownership.Set(programs, 0, 0);
        foreach (var (name, source) in Programs)
        {
            WriteIfChanged(
                Path.Combine(MachineSshd.ProgramsDirectory.TrimStart('/'), name), File.ReadAllBytes(ResolveInBase("/" + source)), Mode0711, 0);
        }
    }

    /// <summary>The base's own <c>ldd</c> on its sshd, run in the base (host root, before any machine can touch it).</summary>
    private async Task<IReadOnlyList<string>> LibrariesOfSshdAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await HostCommand.RunAsync("chroot", [baseRootFileSystem, "/usr/bin/ldd", "/usr/sbin/sshd"], timeout, cancellationToken)
            .ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new MachineRuntimeException($"ldd of the base's sshd failed: {result.StandardError.Trim()}");
        }

        var libraries = new List<string>();
        foreach (var raw in result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            var line = raw;
            var arrow = line.IndexOf("=> ", StringComparison.Ordinal);
            if (arrow >= 0)
            {
                line = line[(arrow + 3)..];
            }

            var path = line.Split(' ', 2)[0];
            if (path.StartsWith('/'))
            {
                libraries.Add(path);
            }
            else if (!path.StartsWith("linux-vdso", StringComparison.Ordinal) && !path.StartsWith("linux-gate", StringComparison.Ordinal))
            {
                throw new MachineRuntimeException($"ldd of the base's sshd: unexpected line '{raw}'");
            }
        }

        if (libraries.Count == 0)
        {
            throw new MachineRuntimeException("ldd of the base's sshd listed no libraries");
        }

        return libraries;
    }

    /// <summary>A path of the base resolved as the base sees it (absolute symlinks point into the base, not the host).</summary>
    private string ResolveInBase(string path)
    {
        var parts = new List<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var resolved = new List<string>();
        for (var hops = 0; parts.Count > 0; hops++)
        {
            if (hops > 64)
            {
                throw new MachineRuntimeException($"too many symbolic links resolving {path} in the base");
            }

            var part = parts[0];
            parts.RemoveAt(0);
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            var candidate = Path.Combine(baseRootFileSystem, Path.Combine([.. resolved, part]));
            var link = new FileInfo(candidate).LinkTarget;
            if (link is null)
            {
                resolved.Add(part);
                continue;
            }

            if (link.StartsWith('/'))
            {
                resolved.Clear();
            }

            parts.InsertRange(0, link.Split('/', StringSplitOptions.RemoveEmptyEntries));
        }

        return Path.Combine(baseRootFileSystem, Path.Combine([.. resolved]));
    }

    private void MakeDirectory(string relative)
    {
        var path = Combine("/" + relative.TrimStart('/'));
        System.IO.Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, Mode0755);
        Ownership.Set(path, mappedRoot, mappedRoot);
    }

    private void WriteIfChanged(string relative, byte[] contents, UnixFileMode mode, int owner)
    {
        var path = Combine("/" + relative.TrimStart('/'));
        var info = new FileInfo(path);
        if (info.Exists && info.LinkTarget is null && info.Length == contents.Length &&
            File.GetUnixFileMode(path) == mode && NativeMethods.OwnerOf(path) == owner && File.ReadAllBytes(path).AsSpan().SequenceEqual(contents))
        {
            return;
        }

        OwnedFile.Write(path, contents, mode, owner);
    }

    /// <summary>Makes <paramref name="relative"/> a symlink to <paramref name="target"/> (replacing an empty directory an earlier tree had).</summary>
    private void Symlink(string relative, string target)
    {
        var path = Combine("/" + relative);
        var existing = new FileInfo(path);
        if (existing.LinkTarget == target)
        {
            return;
        }

        if (System.IO.Directory.Exists(path) && existing.LinkTarget is null)
        {
            System.IO.Directory.Delete(path);
        }
        else if (existing.Exists || existing.LinkTarget is not null)
        {
            File.Delete(path);
        }

        File.CreateSymbolicLink(path, target);
        Ownership.Set(path, mappedRoot, mappedRoot);
    }

    private string Combine(string inside) => Path.Combine(Directory, inside.TrimStart('/'));
}
