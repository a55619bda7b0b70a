using System.Globalization;

namespace Dedalus.Machines.Host;

/// <summary>Process trees from one pass over <c>/proc/*/stat</c>, without a Process object per host process.</summary>
internal static class ProcessTree
{
    /// <summary><paramref name="roots"/> and all their descendants, parents before children.</summary>
    public static IReadOnlyList<int> Collect(IReadOnlyList<int> roots)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            var parent = ReadParent(directory);
            if (parent > 0)
            {
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }
        }

        var result = new List<int>();
        var seen = new HashSet<int>();
        var queue = new Queue<int>(roots.Where(r => r > 0));
        while (queue.TryDequeue(out var pid))
        {
            if (!seen.Add(pid))
            {
                continue;
            }

            result.Add(pid);
            if (children.TryGetValue(pid, out var list))
            {
                foreach (var child in list)
                {
                    queue.Enqueue(child);
                }
            }
        }

        return result;
    }

    /// <summary>
    /// From <c>/proc/PID/stat</c>: the state letter (<c>Z</c> for a zombie), the parent's pid and the start time (clock
    /// ticks after boot); null when the process is gone.
    /// </summary>
    public static ProcessStatus? ReadStatus(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "PID (COMM) S PPID PGRP ... STARTTIME ...": fields 3 (state), 4 (ppid) and 22 (starttime) of proc(5).
        var close = stat.LastIndexOf(')');
        var fields = close < 0 ? [] : stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19
            && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent)
            && ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime)
            ? new ProcessStatus(fields[0][0], parent, startTime)
            : null;
    }

    /// <summary>Field 4 of /proc/PID/stat (after the parenthesized command, which may hold spaces); 0 when unreadable.</summary>
    private static int ReadParent(string directory)
    {
        string stat;
        try
        {
            stat = File.ReadAllText(Path.Combine(directory, "stat"));
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }

        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return 0;
        }

        // ") S PPID ..."
        var fields = stat.AsSpan(close + 1).Trim();
        var space = fields.IndexOf(' ');
        if (space < 0)
        {
            return 0;
        }

        fields = fields[(space + 1)..];
        var end = fields.IndexOf(' ');
        return int.TryParse(end < 0 ? fields : fields[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var parent) ? parent : 0;
    }
}

/// <summary>A few fields of <c>/proc/PID/stat</c> (see <see cref="ProcessTree.ReadStatus"/>).</summary>
internal readonly record struct ProcessStatus(char State, int ParentPid, ulong StartTime);
