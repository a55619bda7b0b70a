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
    public static async Task<int> ShiftAsync(string root, int offset, TimeSpan timeout, CancellationToken cancellationToken = default)
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
            var mode = (UnixFileMode)Convert.ToInt32(parts[2], 8);
            var path = parts[4];
            NativeMethods.LChown(path, uid + offset, gid + offset);
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
