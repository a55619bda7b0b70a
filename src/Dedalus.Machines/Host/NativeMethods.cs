using System.Runtime.InteropServices;

namespace Dedalus.Machines.Host;

/// <summary>
/// The libc calls .NET has no API for: changing the owner of a path without following a symlink, SIGKILL to a
/// pid without building a Process object (cheap when hundreds of processes are killed at once), waiting for a
/// process that is not our child to exit (a pidfd, which the kernel makes readable when it does), and the disk
/// space a sparse file holds (statx's block count).
/// </summary>
internal static partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChownNative(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillNative(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "pidfd_open", SetLastError = true)]
    private static partial int PidfdOpen(int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fd, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, Span<byte> buffer);

    /// <summary>
    /// Bytes allocated to the file at <paramref name="path"/> on its file system (512-byte blocks, as <c>du</c> counts),
    /// which for a sparse file is far less than its size; 0 when it does not exist.
    /// </summary>
    public static long AllocatedBytes(string path)
    {
        // statx(2): struct statx is 256 bytes on every architecture; stx_blocks is the u64 at offset 48.
        const int AtCurrentDirectory = -100;
        const int AtSymlinkNoFollow = 0x100;
        const uint StatxBlocks = 0x400;
        const int NoSuchFile = 2;
        Span<byte> buffer = stackalloc byte[256];
        if (Statx(AtCurrentDirectory, path, AtSymlinkNoFollow, StatxBlocks, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == NoSuchFile ? 0 : throw new IOException($"statx {path} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        return checked((long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(buffer[48..]) * 512);
    }

    /// <summary>The owner uid of <paramref name="path"/> (not following a symlink); -1 when it does not exist.</summary>
    public static long OwnerOf(string path)
    {
        // struct statx: stx_uid is the u32 at offset 20.
        const int AtCurrentDirectory = -100;
        const int AtSymlinkNoFollow = 0x100;
        const uint StatxUid = 0x8;
        Span<byte> buffer = stackalloc byte[256];
        return Statx(AtCurrentDirectory, path, AtSymlinkNoFollow, StatxUid, buffer) != 0
            ? -1
            : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(buffer[20..]);
    }

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    private static partial int UnshareNative(int flags);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNsNative(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MountNative(string source, string target, string? fileSystemType, ulong flags, nint data);

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MountWithDataNative(string source, string target, string fileSystemType, ulong flags, string data);

    /// <summary>MS_NODEV for <see cref="Mount"/>.</summary>
    public const ulong MountNoDevices = 4;

    /// <summary>
    /// mount(2) of a file system that needs no device set-up (tmpfs, overlay) in this process's mount namespace: a
    /// system call where the <c>mount</c> program costs a process start on every wake.
    /// </summary>
    public static void Mount(string source, string target, string fileSystemType, ulong flags, string data)
    {
        if (MountWithDataNative(source, target, fileSystemType, flags, data) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"mount -t {fileSystemType} on {target} ({data}) failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    /// <summary>
    /// Runs <paramref name="mounts"/> (bind mounts: source, target, recursive) inside the mount namespace of process
    /// <paramref name="pid"/>, on a thread of its own that first unshares its file system context (so the namespace
    /// change is that thread's alone) and then ends: no program runs, so nothing of that namespace is executed.
    /// Paths are resolved in that namespace, from its root.
    /// </summary>
    public static Task BindMountInNamespaceAsync(int pid, IReadOnlyList<(string Source, string Target, bool Recursive)> mounts)
    {
        const int CloneFs = 0x00000200;
        const int CloneNewNs = 0x00020000;
        const ulong MsBind = 4096;
        const ulong MsRec = 16384;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var handle = File.OpenHandle($"/proc/{pid.ToString(System.Globalization.CultureInfo.InvariantCulture)}/ns/mnt");
        var fd = (int)handle.DangerousGetHandle();
        var thread = new Thread(() =>
        {
            try
            {
                Check(UnshareNative(CloneFs), "unshare(CLONE_FS)");
                Check(SetNsNative(fd, CloneNewNs), $"setns into the mount namespace of pid {pid}");
                foreach (var (source, target, recursive) in mounts)
                {
                    Check(MountNative(source, target, null, MsBind | (recursive ? MsRec : 0), 0), $"bind mount of {source} on {target}");
                }

                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "mount namespace",
        };
        thread.Start();
        thread.Join();
        return done.Task;

        static void Check(int result, string what)
        {
            if (result != 0)
            {
                throw new IOException($"{what} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
        }
    }

    /// <summary>Sends SIGKILL to <paramref name="pid"/>; false when it is gone already (or not ours).</summary>
    public static bool SigKill(int pid)
    {
        const int SigKillSignal = 9;
        return pid > 0 && KillNative(pid, SigKillSignal) == 0;
    }

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when it is gone already (or not ours).</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && KillNative(pid, signal) == 0;

    public static void LChown(string path, int owner, int group)
    {
        if (LChownNative(path, (uint)owner, (uint)group) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"lchown {path} to {owner}:{group} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    /// <summary>
    /// Waits until process <paramref name="pid"/> has exited, at most <paramref name="timeout"/>: true when it is gone,
    /// false when it still runs (or cannot be watched on this kernel). The wait is the kernel's signal on a pidfd; the
    /// waiting thread wakes every 250 ms only to honour <paramref name="cancellationToken"/>.
    /// </summary>
    public static async Task<bool> WaitForExitAsync(int pid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        const int NoSuchProcess = 3;
        var fd = PidfdOpen(pid, 0);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError() == NoSuchProcess;
        }

        try
        {
            return await Task.Run(
                () =>
                {
                    const short PollIn = 1;
                    var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
                    var watched = new PollFd { Fd = fd, Events = PollIn };
                    while (!cancellationToken.IsCancellationRequested)
                    {
                        var left = deadline - Environment.TickCount64;
                        if (left <= 0)
                        {
                            return false;
                        }

                        if (Poll(ref watched, 1, (int)Math.Min(left, 250)) > 0)
                        {
                            return true;
                        }
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                    return false;
                },
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}
