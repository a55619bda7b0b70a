using System.Globalization;

namespace Dedalus.Machines.Host;

/// <summary>
/// The cgroup (v2) of one execution, with no controllers of its own: memory and CPU stay charged to the machine's
/// limits, while the group holds exactly the execution's processes. A process cannot leave it from inside the machine
/// (the machine sees its cgroups read-only), so signalling the group, and <c>cgroup.kill</c>, reach every process the
/// command started, daemonized or not. On a cgroup v2 host the group is a child of the machine's cgroup; on a hybrid
/// host (v1 controllers, plus the controller-less v2 hierarchy at <c>/sys/fs/cgroup/unified</c>) it is a child of
/// <c>unified/dedalus/&lt;machine&gt;</c>, a group made for the purpose: a process's place there changes none of its
/// v1 limits.
/// </summary>
internal sealed class ExecutionGroup(string machineGroup, string name)
{
    private const string Prefix = "x-";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    public string Path { get; } = System.IO.Path.Combine(machineGroup, Prefix + name);

    public bool Exists => Directory.Exists(Path);

    /// <summary>Where the execution groups of the machine whose runc cgroups path is <paramref name="cgroupsPath"/> live (see the class).</summary>
    public static string MachineGroup(string cgroupsPath) =>
        File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" + cgroupsPath : "/sys/fs/cgroup/unified" + cgroupsPath;

    /// <summary>Whether the machine group is ours to remove (the hybrid case), not runc's.</summary>
    public static bool MachineGroupIsOurs => !File.Exists("/sys/fs/cgroup/cgroup.controllers");

    /// <summary>Every execution group of the machine (a previous server process's too).</summary>
    public static IReadOnlyList<ExecutionGroup> All(string machineGroup) =>
        Directory.Exists(machineGroup)
            ? [.. Directory.EnumerateDirectories(machineGroup, Prefix + "*").Select(d => new ExecutionGroup(machineGroup, System.IO.Path.GetFileName(d)[Prefix.Length..]))]
            : [];

    public void Create()
    {
        if (!MachineGroupIsOurs && !Directory.Exists(machineGroup))
        {
            throw new IOException($"the machine's cgroup {machineGroup} does not exist");
        }

        Directory.CreateDirectory(Path);
    }

    /// <summary>Moves <paramref name="pid"/> (and only that thread group) into the group.</summary>
    public void Add(int pid) => File.WriteAllText(System.IO.Path.Combine(Path, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));

    public IReadOnlyList<int> Processes()
    {
        try
        {
            return [.. File.ReadAllLines(System.IO.Path.Combine(Path, "cgroup.procs"))
                .Select(line => int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
                .Where(pid => pid > 0)];
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>Whether any process is left (<c>cgroup.events</c>' <c>populated</c>); false when the group is gone.</summary>
    public bool IsPopulated()
    {
        try
        {
            return File.ReadLines(System.IO.Path.Combine(Path, "cgroup.events")).Any(line => line == "populated 1");
        }
        catch (IOException)
        {
            return false;
        }
    }

    public int Signal(int signal) => Processes().Count(pid => NativeMethods.Signal(pid, signal));

    /// <summary>SIGKILL to every process of the group at once (<c>cgroup.kill</c>, which also catches processes forking meanwhile).</summary>
    public void Kill()
    {
        try
        {
            File.WriteAllText(System.IO.Path.Combine(Path, "cgroup.kill"), "1");
        }
        catch (IOException) when (!Exists)
        {
        }
    }

    public async Task<bool> WaitUntilEmptyAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (IsPopulated())
        {
            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Moves the processes left in the group to the machine's own group (a few rounds, for processes that fork meanwhile).</summary>
    public void ReleaseProcesses()
    {
        var machineProcs = System.IO.Path.Combine(machineGroup, "cgroup.procs");
        for (var round = 0; round < 5 && IsPopulated(); round++)
        {
            foreach (var pid in Processes())
            {
                try
                {
                    File.WriteAllText(machineProcs, pid.ToString(CultureInfo.InvariantCulture));
                }
                catch (IOException)
                {
                    // It ended meanwhile.
                }
            }
        }
    }

    /// <summary>Removes the group when it is empty; true when it is gone.</summary>
    public bool TryRemove()
    {
        try
        {
            Directory.Delete(Path);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
