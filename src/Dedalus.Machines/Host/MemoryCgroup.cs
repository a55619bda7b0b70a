using System.Globalization;

namespace Dedalus.Machines.Host;

/// <summary>
/// A machine's cgroup of the memory controller, read and written directly (no process): on a cgroup v1 or hybrid host
/// <c>/sys/fs/cgroup/memory/&lt;cgroups path&gt;</c>, on a cgroup v2 host <c>/sys/fs/cgroup/&lt;cgroups path&gt;</c>.
/// runc creates it at start and removes it at delete; the machine sees it read-only.
/// </summary>
/// <remarks>
/// Holding at the limit (Documentation/admin-guide/cgroup-v1/memory.rst section 10, cgroup-v2.rst "Memory Interface Files"):
/// <list type="bullet">
/// <item>v1: <c>memory.oom_control</c> <c>oom_kill_disable 1</c>. A task that faults past <c>memory.limit_in_bytes</c>
/// and finds nothing to reclaim sleeps in the kernel (<c>under_oom 1</c>, killable by SIGKILL only) instead of the OOM
/// killer running; raising the limit wakes it. Swap stays capped: <c>memory.memsw.limit_in_bytes</c>, where the kernel
/// accounts swap, follows the limit (memory + swap = memory), written in the order that keeps memsw at or above it.</item>
/// <item>v2 has no way to disable the OOM killer at <c>memory.max</c>. The hold is <c>memory.high</c>: past it the kernel
/// reclaims and then throttles the allocating tasks (a growing sleep at every return to user space), so a machine hardly
/// gets past it until it is raised, and <c>memory.max</c> (the control plane's ceiling) stays above it as the hard
/// backstop where the OOM killer runs. Held means throttled there: usage at 98 % of <c>memory.high</c> or more, or its
/// <c>high</c> event count growing (the caller compares counts between reads). Without holding, <c>memory.high</c> is
/// <c>max</c> and <c>memory.max</c> is the limit: OOM-killing at the limit, as before.</item>
/// </list>
/// </remarks>
internal sealed class MemoryCgroup
{
    private const string Unlimited = "max";

    private MemoryCgroup(string path, bool unified)
    {
        Path = path;
        IsUnified = unified;
    }

    /// <summary>Whether the host runs cgroup v2 alone (else v1 controllers, maybe beside a controller-less v2 tree).</summary>
    public static bool HostIsUnified { get; } = File.Exists("/sys/fs/cgroup/cgroup.controllers");

    public string Path { get; }

    public bool IsUnified { get; }

    /// <summary>Whether the cgroup exists now (the machine's container runs or is being torn down).</summary>
    public bool Exists => File.Exists(FileOf(IsUnified ? "memory.max" : "memory.limit_in_bytes"));

    /// <summary>The memory cgroup of the machine whose runc cgroups path is <paramref name="cgroupsPath"/>.</summary>
    public static MemoryCgroup OfMachine(string cgroupsPath) =>
        HostIsUnified ? new("/sys/fs/cgroup" + cgroupsPath, unified: true) : new("/sys/fs/cgroup/memory" + cgroupsPath, unified: false);

    /// <summary>The cgroup's memory files, now.</summary>
    /// <exception cref="IOException">The cgroup is gone (or going: <see cref="Exists"/> tells).</exception>
    public MemoryReading Read()
    {
        if (!IsUnified)
        {
            var limit = ReadBytes("memory.limit_in_bytes");
            var usage = ReadBytes("memory.usage_in_bytes");
            var oomControl = ReadKeyed("memory.oom_control");
            return new MemoryReading(
                limit,
                usage,
                HoldAtLimit: oomControl.GetValueOrDefault("oom_kill_disable") == 1,
                AtLimit: oomControl.GetValueOrDefault("under_oom") == 1,
                HighEvents: 0,
                OomKills: oomControl.TryGetValue("oom_kill", out var kills) ? kills : null);
        }

        var max = ReadBytes("memory.max");
        var high = ReadBytes("memory.high");
        var current = ReadBytes("memory.current");
        var events = ReadKeyed("memory.events");
        var hold = high < max;
        return new MemoryReading(
            hold ? high : max,
            current,
            hold,
            AtLimit: hold && current >= high / 100 * 98,
            HighEvents: events.GetValueOrDefault("high"),
            OomKills: events.TryGetValue("oom_kill", out var oomKills) ? oomKills : null);
    }

    /// <summary>
    /// Sets the limit and the hold mode (see the class). <paramref name="hardLimitBytes"/> is v2's <c>memory.max</c>
    /// while holding (at least the limit); v1 ignores it.
    /// </summary>
    /// <exception cref="IOException">The kernel refused a value (a limit below what the machine uses and cannot reclaim: EBUSY), or the cgroup is gone.</exception>
    public void Apply(long limitBytes, bool holdAtLimit, long hardLimitBytes)
    {
        if (IsUnified)
        {
            if (holdAtLimit)
            {
                Write("memory.high", Invariant(limitBytes));
                Write("memory.max", Invariant(Math.Max(hardLimitBytes, limitBytes)));
            }
            else
            {
                Write("memory.max", Invariant(limitBytes));
                Write("memory.high", Unlimited);
            }

            return;
        }

        // Holding goes on before a limit changes (a lower limit then holds rather than kills) and off after it (a held
        // task retries against the new limit before the OOM killer may run).
        if (holdAtLimit)
        {
            Write("memory.oom_control", "1");
        }

        var swapCapped = File.Exists(FileOf("memory.memsw.limit_in_bytes"));
        var value = Invariant(limitBytes);
        if (limitBytes >= ReadBytes("memory.limit_in_bytes"))
        {
            // memsw may never be below the limit: raise it first, lower it last.
            if (swapCapped)
            {
                Write("memory.memsw.limit_in_bytes", value);
            }

            Write("memory.limit_in_bytes", value);
        }
        else
        {
            Write("memory.limit_in_bytes", value);
            if (swapCapped)
            {
                Write("memory.memsw.limit_in_bytes", value);
            }
        }

        if (!holdAtLimit)
        {
            Write("memory.oom_control", "0");
        }
    }

    /// <summary>
    /// The processes in the cgroup: on v1 every process of the machine; on v2 those not in a child group (executions
    /// have their own). Empty when the cgroup is gone.
    /// </summary>
    public IReadOnlyList<int> Processes()
    {
        try
        {
            return [.. File.ReadAllLines(FileOf("cgroup.procs"))
                .Select(line => int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
                .Where(pid => pid > 0)];
        }
        catch (IOException)
        {
            return [];
        }
    }

    private string FileOf(string name) => System.IO.Path.Combine(Path, name);

    private void Write(string name, string value) => File.WriteAllText(FileOf(name), value);

    /// <summary>A file holding one number of bytes, or <c>max</c> (<see cref="long.MaxValue"/>).</summary>
    private long ReadBytes(string name)
    {
        var text = File.ReadAllText(FileOf(name)).Trim();
        return text == Unlimited ? long.MaxValue : long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>A flat keyed file: one <c>name value</c> pair a line (<c>memory.oom_control</c>, <c>memory.events</c>).</summary>
    private Dictionary<string, long> ReadKeyed(string name)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(FileOf(name)))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && long.TryParse(line.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                values[line[..space]] = value;
            }
        }

        return values;
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What a memory cgroup reports (see <see cref="MemoryCgroup"/>); bytes.</summary>
/// <param name="LimitBytes">v1 <c>memory.limit_in_bytes</c>; v2 <c>memory.high</c> while holding, else <c>memory.max</c>.</param>
/// <param name="UsageBytes">v1 <c>memory.usage_in_bytes</c>; v2 <c>memory.current</c>.</param>
/// <param name="HoldAtLimit">v1 <c>oom_kill_disable</c>; v2 <c>memory.high</c> below <c>memory.max</c>.</param>
/// <param name="AtLimit">v1 <c>under_oom</c>; v2 holding with usage at 98 % of <c>memory.high</c> or more.</param>
/// <param name="HighEvents">v2 <c>memory.events</c> <c>high</c>: how often tasks were throttled at <c>memory.high</c>; 0 on v1.</param>
/// <param name="OomKills">v1 <c>oom_kill</c> (kernel 4.13+), v2 <c>memory.events</c> <c>oom_kill</c>; null when absent.</param>
internal readonly record struct MemoryReading(long LimitBytes, long UsageBytes, bool HoldAtLimit, bool AtLimit, long HighEvents, long? OomKills);
