using System.Runtime.InteropServices;

namespace Dedalus.Machines.Host;

/// <summary>The one libc call .NET has no API for: changing the owner of a path without following a symlink.</summary>
internal static partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChownNative(string path, uint owner, uint group);

    public static void LChown(string path, int owner, int group)
    {
        if (LChownNative(path, (uint)owner, (uint)group) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"lchown {path} to {owner}:{group} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }
}
