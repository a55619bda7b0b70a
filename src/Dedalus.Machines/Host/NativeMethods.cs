using System.Runtime.InteropServices;

namespace Dedalus.Machines.Host;

/// <summary>
/// The libc calls .NET has no API for: changing the owner of a path without following a symlink, and SIGKILL to a
/// pid without building a Process object (cheap when hundreds of processes are killed at once).
/// </summary>
internal static partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChownNative(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillNative(int pid, int signal);

    /// <summary>Sends SIGKILL to <paramref name="pid"/>; false when it is gone already (or not ours).</summary>
    public static bool SigKill(int pid)
    {
        const int SigKillSignal = 9;
        return pid > 0 && KillNative(pid, SigKillSignal) == 0;
    }

    public static void LChown(string path, int owner, int group)
    {
        if (LChownNative(path, (uint)owner, (uint)group) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"lchown {path} to {owner}:{group} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }
}
