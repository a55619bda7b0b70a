using System.Runtime.InteropServices;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// Puts a child's pipe in packet mode (Linux <c>O_DIRECT</c> on a pipe, pipe(7)): every write(2) to it becomes one
/// packet, and a read(2) returns at most one packet, so a reader sees the writer's boundaries. sshd writes each log
/// message with one write ("message\r\n", under 1100 bytes): in packet mode a message whose client-chosen text holds a
/// line break stays one record, which a reader can tell from two genuine lines.
/// <para>
/// The flag belongs to the open file description of the write end, which only the child (and what it started) holds:
/// the server takes a duplicate of the child's descriptor with <c>pidfd_getfd</c>, sets <c>O_DIRECT</c> on it (shared by
/// every holder of that description), checks it with <c>F_GETFL</c>, and closes the duplicate. The duplicate must be
/// the write end of the very pipe whose read end the caller holds (same pipefs inode), or nothing is changed.
/// </para>
/// </summary>
public static partial class PacketPipe
{
    private const int GetFlags = 3;
    private const int SetFlags = 4;
    private const int AccessModeMask = 3;
    private const int WriteOnly = 1;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxIno = 0x100;
    private const uint StatxType = 0x1;
    private const int FileTypeMask = 0xF000;
    private const int FifoType = 0x1000;

    /// <summary>
    /// Makes descriptor <paramref name="fd"/> of process <paramref name="pid"/> (the write end of the pipe whose read end
    /// is <paramref name="readEnd"/>) packetized. Call it before the writer can write anything a client chose.
    /// </summary>
    /// <exception cref="IOException">The process is gone, its descriptor is not the pipe's write end, or the kernel refused the flag.</exception>
    public static void MakePacketized(int pid, int fd, SafeHandle readEnd)
    {
        ArgumentNullException.ThrowIfNull(readEnd);
        Set(pid, fd, readEnd);
    }

    /// <summary>
    /// Makes descriptor <paramref name="fd"/> of process <paramref name="pid"/>, the write end of a pipe whose read end
    /// another process holds (runc's copy of the process's stderr), packetized.
    /// </summary>
    /// <exception cref="IOException">The process is gone, its descriptor is not a pipe's write end, or the kernel refused the flag.</exception>
    public static void MakePacketizedAnyPipe(int pid, int fd) => Set(pid, fd, readEnd: null);

    private static void Set(int pid, int fd, SafeHandle? readEnd)
    {
        var directFlag = DirectFlag();
        var pidfd = PidfdOpen(pid, 0);
        if (pidfd < 0)
        {
            throw Failure($"pidfd_open of pid {pid}");
        }

        try
        {
            var dup = PidfdGetfd(pidfd, fd, 0);
            if (dup < 0)
            {
                throw Failure($"pidfd_getfd of descriptor {fd} of pid {pid}");
            }

            try
            {
                var (writeInode, writeMode) = Inode(dup);
                if (readEnd is not null && Inode((int)readEnd.DangerousGetHandle()).Inode != writeInode)
                {
                    throw new IOException($"descriptor {fd} of pid {pid} is not the write end of the pipe read here (inode {writeInode})");
                }

                if ((writeMode & FileTypeMask) != FifoType)
                {
                    throw new IOException($"descriptor {fd} of pid {pid} is not a pipe (mode 0{Convert.ToString(writeMode, 8)})");
                }

                var flags = Fcntl(dup, GetFlags, 0);
                if (flags < 0)
                {
                    throw Failure("F_GETFL");
                }

                if ((flags & AccessModeMask) != WriteOnly)
                {
                    throw new IOException($"descriptor {fd} of pid {pid} is not open for writing only (flags 0x{flags:x})");
                }

                if (Fcntl(dup, SetFlags, flags | directFlag) < 0)
                {
                    throw Failure("F_SETFL O_DIRECT");
                }

                var after = Fcntl(dup, GetFlags, 0);
                if (after < 0 || (after & directFlag) == 0)
                {
                    throw new IOException($"the pipe of descriptor {fd} of pid {pid} did not stay in packet mode (flags 0x{after:x})");
                }
            }
            finally
            {
                _ = Close(dup);
            }
        }
        finally
        {
            _ = Close(pidfd);
        }
    }

    /// <summary>True when the open file description behind <paramref name="fd"/> (of this process) is in packet mode.</summary>
    public static bool IsPacketized(int fd)
    {
        var flags = Fcntl(fd, GetFlags, 0);
        return flags >= 0 && (flags & DirectFlag()) != 0;
    }

    /// <summary>O_DIRECT: its value differs between architectures (asm-generic/fcntl.h and the arm64 override).</summary>
    private static int DirectFlag() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 0x4000,
        Architecture.Arm64 => 0x10000,
        var other => throw new PlatformNotSupportedException($"O_DIRECT of {other} is not known here"),
    };

    private static (ulong Inode, int Mode) Inode(int fd)
    {
        // statx(2): struct statx is 256 bytes; stx_mode is the u16 at offset 28, stx_ino the u64 at offset 32.
        Span<byte> buffer = stackalloc byte[256];
        return Statx(fd, string.Empty, AtEmptyPath, StatxIno | StatxType, buffer) != 0
            ? throw Failure($"statx of descriptor {fd}")
            : (System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]), System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]));
    }

    private static IOException Failure(string what) =>
        new($"{what} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    [LibraryImport("libc", EntryPoint = "pidfd_open", SetLastError = true)]
    private static partial int PidfdOpen(int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "pidfd_getfd", SetLastError = true)]
    private static partial int PidfdGetfd(int pidfd, int targetFd, uint flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, Span<byte> buffer);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
