using System.Globalization;

namespace Dedalus.Testing.Network;

/// <summary>Network namespaces and processes as tests see them: names in <c>/run/netns</c>, processes by command line.</summary>
public static class NetNs
{
    /// <summary>The named network namespaces (<c>ip netns</c>).</summary>
    public static IReadOnlyList<string> List() =>
        Directory.Exists("/run/netns") ? [.. Directory.EnumerateFileSystemEntries("/run/netns").Select(p => Path.GetFileName(p)!)] : [];

    /// <summary>Kills every process inside the namespace.</summary>
    public static async Task KillProcessesAsync(string ns)
    {
        var pids = await ProcessRunner.RunAsync("ip", "netns", "pids", ns);
        foreach (var pid in pids.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            await ProcessRunner.RunAsync("kill", "-KILL", pid);
        }
    }

    /// <summary>Pids of the processes whose command line has <paramref name="argument"/> as one of its arguments.</summary>
    public static IReadOnlyList<int> ProcessesWithArgument(string argument)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0').Contains(argument, StringComparer.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }

    /// <summary>
    /// Runs a command inside the namespace to completion: <c>nsenter --net</c>, not <c>ip netns exec</c>, which also
    /// makes a new mount namespace holding a copy of every mount of the host at that moment (machines' home file
    /// systems of other tests among them: their loop devices would stay attached while the command runs).
    /// </summary>
    public static Task<ProcessResult> ExecAsync(string ns, params string[] arguments) =>
        ProcessRunner.RunAsync("nsenter", [$"--net=/run/netns/{ns}", .. arguments]);
}
