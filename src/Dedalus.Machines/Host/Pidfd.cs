using System.Runtime.InteropServices;

namespace Dedalus.Machines.Host;

/// <summary>
/// A pidfd: a handle on one process that stays valid (never names another process after pid reuse), signals it, and,
/// opened before the process ends, tells how it ended even after another process (its parent) has reaped it
/// (<c>PIDFD_GET_INFO</c> with <c>PIDFD_INFO_EXIT</c>, Linux 6.15 and later).
/// </summary>
internal sealed partial class Pidfd : IDisposable
{
    // _IOWR(0xFF, 11, struct pidfd_info) with the 64-byte first version of the struct.
    private const uint PidfdGetInfo = 0xC040FF0B;
    private const ulong PidfdInfoExit = 1 << 3;
    private const int InfoSize = 64;
    private const int ExitCodeOffset = 60;

    private int _fd;

    private Pidfd(int fd) => _fd = fd;

    [LibraryImport("libc", EntryPoint = "pidfd_open", SetLastError = true)]
    private static partial int PidfdOpen(int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "pidfd_send_signal", SetLastError = true)]
    private static partial int PidfdSendSignal(int fd, int signal, IntPtr info, uint flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, Span<byte> argument);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>A pidfd for <paramref name="pid"/>, or null when there is no such process.</summary>
    public static Pidfd? Open(int pid)
    {
        var fd = PidfdOpen(pid, 0);
        return fd < 0 ? null : new Pidfd(fd);
    }

    /// <summary>Sends <paramref name="signal"/>; false when the process has ended.</summary>
    public bool Signal(int signal) => _fd >= 0 && PidfdSendSignal(_fd, signal, IntPtr.Zero, 0) == 0;

    /// <summary>The wait status of the ended process (<c>waitpid</c>'s encoding), or null when it runs or the kernel cannot say.</summary>
    public int? ExitStatus()
    {
        Span<byte> info = stackalloc byte[InfoSize];
        info.Clear();
        MemoryMarshal.Write(info, PidfdInfoExit);
        if (_fd < 0 || Ioctl(_fd, PidfdGetInfo, info) != 0)
        {
            return null;
        }

        var mask = MemoryMarshal.Read<ulong>(info);
        return (mask & PidfdInfoExit) != 0 ? MemoryMarshal.Read<int>(info[ExitCodeOffset..]) : null;
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = Close(fd);
        }
    }
}
