using System.Globalization;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Host;

/// <summary>Owner changes for files that a user namespace sees (host uid = mapped base + uid inside).</summary>
internal static class Ownership
{
    private const UnixFileMode SetIdBits = UnixFileMode.SetUser | UnixFileMode.SetGroup;

    /// <summary>
    /// Adds <paramref name="offset"/> to the uid and gid of every file below <paramref name="root"/>, the root
    /// itself included, without following symlinks or crossing file systems. chown clears the setuid and setgid
    /// bits (sudo!), so they are put back afterwards.
    /// </summary>
    public static Task<int> ShiftAsync(string root, int offset, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RemapAsync(root, id => id + offset, timeout, cancellationToken);

    /// <summary>
    /// Moves every owner (uid or gid) in <c>[from, from + count)</c> below <paramref name="root"/> to the same offset from
    /// <paramref name="to"/>; owners outside the range stay. Running it again after an interruption finishes the move.
    /// Returns the number of files changed.
    /// </summary>
    public static Task<int> MoveRangeAsync(string root, int from, int to, int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RemapAsync(root, id => id >= from && id - from < count ? id - from + to : id, timeout, cancellationToken);

    private static async Task<int> RemapAsync(string root, Func<int, int> map, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // find prints "uid gid mode type path\0" for each file; paths may hold any byte but NUL.
        var result = await HostCommand.RunCheckedAsync(
            "find", [root, "-xdev", "-printf", "%U %G %m %y %p\\0"], timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        var count = 0;
        foreach (var record in result.StandardOutput.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = record.Split(' ', 5);
            if (parts.Length != 5)
            {
                throw new MachineRuntimeException($"unexpected find output while shifting owners: {record}");
            }

            var uid = int.Parse(parts[0], CultureInfo.InvariantCulture);
            var gid = int.Parse(parts[1], CultureInfo.InvariantCulture);
            var (newUid, newGid) = (map(uid), map(gid));
            if (newUid == uid && newGid == gid)
            {
                continue;
            }

            var mode = (UnixFileMode)Convert.ToInt32(parts[2], 8);
            var path = parts[4];
            NativeMethods.LChown(path, newUid, newGid);
            if (parts[3] != "l" && (mode & SetIdBits) != 0)
            {
                File.SetUnixFileMode(path, mode);
            }

            count++;
        }

        return count;
    }

    /// <summary>Sets the owner of one path (not following a symlink).</summary>
    public static void Set(string path, int uid, int gid) => NativeMethods.LChown(path, uid, gid);
}
