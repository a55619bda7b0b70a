using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Dedalus.Server.Console.Terminal;

public sealed partial class PseudoTerminal
{
    /// <summary>The libc calls of a pseudo-terminal (Linux, x86-64 and arm64: the same constants and layouts).</summary>
    private static partial class Native
    {
        public const int ORdWr = 0x2;
        public const int ONoCtty = 0x100;
        public const int OCloExec = 0x80000;
        public const int SigKill = 9;

        /// <summary><c>TIOCSWINSZ</c> from asm-generic/ioctls.h.</summary>
        public const nuint TiocSWinSz = 0x5414;

        /// <summary>
        /// glibc's <c>struct termios</c>: <c>c_iflag, c_oflag, c_cflag, c_lflag</c> (4 bytes each), <c>c_line</c>,
        /// <c>c_cc[32]</c>, <c>c_ispeed, c_ospeed</c>: 60 bytes; read into a larger buffer.
        /// </summary>
        public const int TermiosSize = 64;

        public const int TermiosLocalFlagsOffset = 12;

        /// <summary><c>ICANON</c> in <c>c_lflag</c>.</summary>
        public const uint ICanon = 0x2;

        [StructLayout(LayoutKind.Sequential)]
        public struct WindowSize
        {
            public ushort Rows;
            public ushort Columns;
            public ushort XPixels;
            public ushort YPixels;
        }

        [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
        public static partial int PosixOpenpt(int flags);

        [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
        public static partial int Grantpt(int fd);

        [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
        public static partial int Unlockpt(int fd);

        [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
        private static partial int PtsNameR(int fd, Span<byte> buffer, nuint length);

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
        public static partial int IoctlWindowSize(SafeFileHandle fd, nuint request, ref WindowSize size);

        [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
        public static partial int Tcgetattr(SafeFileHandle fd, Span<byte> termios);

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static partial int Kill(int pid, int signal);

        /// <summary>The slave's path, with the reentrant <c>ptsname_r</c> (<c>ptsname</c> returns a shared buffer).</summary>
        public static string PtsName(int masterFd)
        {
            Span<byte> buffer = stackalloc byte[128];
            var error = PtsNameR(masterFd, buffer, (nuint)buffer.Length);
            if (error != 0)
            {
                throw new IOException($"ptsname_r failed: {Marshal.GetPInvokeErrorMessage(error)}");
            }

            var end = buffer.IndexOf((byte)0);
            return System.Text.Encoding.UTF8.GetString(end < 0 ? buffer : buffer[..end]);
        }

        public static IOException Failure(string what) =>
            new($"{what} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }
}
