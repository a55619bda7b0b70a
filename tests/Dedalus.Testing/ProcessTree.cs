using System.Diagnostics;
using System.Globalization;

namespace Dedalus.Testing;

/// <summary>Kills a process with its descendants (a client's or a server's children must not outlive the test).</summary>
internal static class ProcessTree
{
    /// <summary>
    /// Kills <paramref name="process"/> first (so it starts no more children), then every descendant it had. The
    /// descendants come from /proc/PID/task/TID/children, far cheaper than .NET's scan of every process when hundreds
    /// run; where the kernel does not offer that file, .NET's own tree kill.
    /// </summary>
    public static void Kill(Process process)
    {
        try
        {
            if (process.HasExited)
            {
                return;
            }

            var descendants = new List<int>();
            if (!TryCollectDescendants(process.Id, descendants))
            {
                process.Kill(entireProcessTree: true);
                return;
            }

            process.Kill();
            foreach (var pid in descendants)
            {
                try
                {
                    using var child = Process.GetProcessById(pid);
                    child.Kill();
                }
                catch (ArgumentException)
                {
                }
                catch (InvalidOperationException)
                {
                }
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static bool TryCollectDescendants(int pid, List<int> descendants)
    {
        var tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks))
        {
            return Directory.Exists("/proc/self/task");
        }

        try
        {
            foreach (var task in Directory.EnumerateDirectories(tasks))
            {
                var childrenFile = Path.Combine(task, "children");
                if (!File.Exists(childrenFile))
                {
                    return false;
                }

                foreach (var part in File.ReadAllText(childrenFile).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var child = int.Parse(part, CultureInfo.InvariantCulture);
                    descendants.Add(child);
                    TryCollectDescendants(child, descendants);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return true;
    }
}
