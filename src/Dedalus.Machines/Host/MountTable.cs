using System.Text;

namespace Dedalus.Machines.Host;

/// <summary>Reads the host's mount table and mounts or unmounts with the util-linux tools.</summary>
internal static class MountTable
{
    private const string MountInfoPath = "/proc/self/mountinfo";

    /// <summary>Every mount, in mount order (proc(5): mountinfo).</summary>
    public static IReadOnlyList<MountEntry> Read()
    {
        var entries = new List<MountEntry>();
        foreach (var line in File.ReadLines(MountInfoPath))
        {
            // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-", 6);
            if (fields.Length < 5 || separator < 0 || separator + 2 >= fields.Length)
            {
                continue;
            }

            entries.Add(new MountEntry(Unescape(fields[4]), fields[separator + 1], Unescape(fields[separator + 2])));
        }

        return entries;
    }

    public static bool IsMountPoint(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        return Read().Any(e => e.MountPoint == full);
    }

    /// <summary>Mounts at or below <paramref name="path"/>, deepest first (the order to unmount them).</summary>
    public static IReadOnlyList<MountEntry> Under(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        return [.. Read()
            .Where(e => e.MountPoint == full || e.MountPoint.StartsWith(full + "/", StringComparison.Ordinal))
            .Reverse()];
    }

    public static MountEntry? Find(string mountPoint)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(mountPoint));
        return Read().LastOrDefault(e => e.MountPoint == full);
    }

    /// <summary>Unmounts everything at or below <paramref name="path"/>; lazily when a mount stays busy.</summary>
    public static async Task<int> UnmountAllAsync(string path, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var count = 0;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var mounts = Under(path);
            if (mounts.Count == 0)
            {
                return count;
            }

            foreach (var mount in mounts)
            {
                var lazy = attempt == 2;
                string[] args = lazy ? ["-l", mount.MountPoint] : [mount.MountPoint];
                var result = await HostCommand.RunAsync("umount", args, timeout, cancellationToken).ConfigureAwait(false);
                if (result.Succeeded)
                {
                    count++;
                }
            }

            if (attempt < 2 && Under(path).Count > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
            }
        }

        return count;
    }

    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var builder = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctal(field, i + 1))
            {
                builder.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                builder.Append(field[i]);
            }
        }

        return builder.ToString();
    }

    private static bool IsOctal(string s, int start) =>
        start + 3 <= s.Length && s[start] is >= '0' and <= '7' && s[start + 1] is >= '0' and <= '7' && s[start + 2] is >= '0' and <= '7';
}
