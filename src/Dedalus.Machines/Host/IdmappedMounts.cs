using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Dedalus.Machines.Runtime;
using Microsoft.Win32.SafeHandles;

namespace Dedalus.Machines.Host;

/// <summary>
/// Idmapped mounts (<c>mount_setattr(2)</c> with <c>MOUNT_ATTR_IDMAP</c>; Linux 5.12, and as overlayfs layers 5.19): a
/// view of a directory tree in which the owners of one uid and gid range show, and are written, as the same offsets in
/// another range. runc 1.1 cannot make them, so the runtime makes them on the host before <c>runc run</c>: each machine
/// sees the shared files (the base userland, the host tree), stored once in the shared range, as its own root's.
/// <para>
/// The mapping is that of a user namespace, passed by file descriptor. A namespace needs a process to exist and to have
/// its maps written, so one is made by a short-lived <c>unshare --user</c> child (a .NET process cannot unshare a user
/// namespace: it has threads); its descriptor outlives the child.
/// </para>
/// </summary>
internal static partial class IdmappedMounts
{
    private const int AtFdCwd = -100;
    private const uint OpenTreeClone = 1;
    private const uint OpenTreeCloexec = 0x80000;
    private const uint AtRecursive = 0x8000;
    private const uint AtEmptyPath = 0x1000;
    private const uint MoveMountFromEmptyPath = 0x4;
    private const ulong MountAttrReadOnly = 0x1;
    private const ulong MountAttrIdmap = 0x100000;

    [StructLayout(LayoutKind.Sequential)]
    private struct MountAttr
    {
        public ulong AttrSet;
        public ulong AttrClear;
        public ulong Propagation;
        public ulong UserNamespaceFd;
    }

    [LibraryImport("libc", EntryPoint = "open_tree", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenTree(int directoryFd, string path, uint flags);

    [LibraryImport("libc", EntryPoint = "mount_setattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MountSetAttr(int directoryFd, string path, uint flags, ref MountAttr attributes, nuint size);

    [LibraryImport("libc", EntryPoint = "move_mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MoveMount(int fromDirectoryFd, string fromPath, int toDirectoryFd, string toPath, uint flags);

    /// <summary>
    /// A user namespace whose uid and gid maps send <paramref name="count"/> ids from <paramref name="from"/> (as the file
    /// system stores them) to <paramref name="to"/> (as the mount shows them); the caller disposes the descriptor.
    /// </summary>
    public static async Task<SafeFileHandle> UserNamespaceAsync(int from, int to, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("unshare")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--user", "--", "/bin/sh", "-c", "echo unshared; read -r _" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new MachineRuntimeException("unshare did not start");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            // The child prints once it runs in its new namespace (unshare execs the shell after unsharing).
            var line = await process.StandardOutput.ReadLineAsync(deadline.Token).ConfigureAwait(false);
            if (line != "unshared")
            {
                var error = await process.StandardError.ReadToEndAsync(deadline.Token).ConfigureAwait(false);
                throw new MachineRuntimeException($"unshare --user failed: {error.Trim()}");
            }

            var pid = process.Id.ToString(CultureInfo.InvariantCulture);
            var map = string.Create(CultureInfo.InvariantCulture, $"{from} {to} {count}\n");
            await File.WriteAllTextAsync($"/proc/{pid}/uid_map", map, deadline.Token).ConfigureAwait(false);
            await File.WriteAllTextAsync($"/proc/{pid}/gid_map", map, deadline.Token).ConfigureAwait(false);
            var handle = File.OpenHandle($"/proc/{pid}/ns/user");
            process.StandardInput.Close();
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            return handle;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MachineRuntimeException($"making a user namespace for an idmapped mount took more than {timeout.TotalSeconds:F0} s");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    /// <summary>
    /// Mounts a read-only view of <paramref name="source"/> (and the mounts below it) at <paramref name="target"/> whose
    /// owners are mapped through <paramref name="userNamespace"/>. The view is made detached and only then attached, so
    /// no unmapped view of it is ever visible at <paramref name="target"/>.
    /// </summary>
    public static void MountReadOnly(string source, string target, SafeFileHandle userNamespace)
    {
        ArgumentNullException.ThrowIfNull(userNamespace);
        var tree = OpenTree(AtFdCwd, source, OpenTreeClone | OpenTreeCloexec | AtRecursive);
        if (tree < 0)
        {
            throw Failure($"open_tree of {source}");
        }

        using var treeHandle = new SafeFileHandle(tree, ownsHandle: true);
        var attributes = new MountAttr
        {
            AttrSet = MountAttrIdmap | MountAttrReadOnly,
            UserNamespaceFd = (ulong)userNamespace.DangerousGetHandle(),
        };
        if (MountSetAttr(tree, string.Empty, AtEmptyPath | AtRecursive, ref attributes, (nuint)Marshal.SizeOf<MountAttr>()) != 0)
        {
            throw Failure($"idmapping the mount of {source} (the file system must support idmapped mounts)");
        }

        if (MoveMount(tree, string.Empty, AtFdCwd, target, MoveMountFromEmptyPath) != 0)
        {
            throw Failure($"attaching the idmapped view of {source} at {target}");
        }
    }

    private static MachineRuntimeException Failure(string what) =>
        new($"{what} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
}
