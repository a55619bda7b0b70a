using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace Dedalus.Gateway;

/// <summary>
/// Grows the kernel buffer of the pipe sshd writes the client's bytes to (Linux <c>F_SETPIPE_SZ</c>). The default,
/// 64 KiB, is less than one round of sshd's output in a bulk download: sshd blocks on the full pipe until the gateway
/// has read and sent, so both sides take turns instead of working at once, and the transfer pays a pair of context
/// switches per 64 KiB. Reached directly, sshd writes into a socket buffer the kernel grows to megabytes.
/// </summary>
internal static partial class PipeCapacity
{
    /// <summary>1 MiB: the kernel's default <c>/proc/sys/fs/pipe-max-size</c>. The pages are taken only as data waits in the pipe.</summary>
    public const int Bytes = 1024 * 1024;

    private const int SetPipeSize = 1031;
    private const int GetPipeSize = 1032;

    /// <summary>Best effort: a stream that is not a pipe, or a kernel that refuses, keeps its buffer.</summary>
    public static void TryGrow(Stream stream) => Call(stream, SetPipeSize, Bytes);

    /// <summary>The pipe's buffer size in bytes; -1 when <paramref name="stream"/> is not a pipe.</summary>
    public static int SizeOf(Stream stream) => Call(stream, GetPipeSize, 0);

    private static int Call(Stream stream, int command, int argument)
    {
        SafeHandle? handle = stream switch
        {
            PipeStream pipe => pipe.SafePipeHandle,
            FileStream file => file.SafeFileHandle,
            _ => null,
        };
        if (handle is null || handle.IsInvalid || handle.IsClosed)
        {
            return -1;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Fcntl((int)handle.DangerousGetHandle(), command, argument);
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "fcntl")]
    private static partial int Fcntl(int fd, int command, int argument);
}
