namespace Dedalus.Machines.Runtime;

/// <summary>A running machine's memory as its cgroup reports it now (see <see cref="IMachineRuntime.ReadMemoryAsync"/>).</summary>
/// <param name="LimitMib">The limit applied to the running cgroup, in MiB (rounded down): on cgroup v1
/// <c>memory.limit_in_bytes</c>; on cgroup v2 <c>memory.high</c> while holding, else <c>memory.max</c>.
/// <see cref="long.MaxValue"/> when the cgroup has none.</param>
/// <param name="UsageBytes">Memory charged to the machine (its processes, kernel memory and page cache, its root file
/// system's tmpfs included): v1 <c>memory.usage_in_bytes</c>, v2 <c>memory.current</c>.</param>
/// <param name="HoldAtLimit">Whether the running cgroup holds rather than OOM-kills at the limit (v1
/// <c>oom_kill_disable</c>; v2 a <c>memory.high</c> below <c>memory.max</c>).</param>
/// <param name="Held">Whether processes are being held at the limit right now, waiting for it to be raised: v1
/// <c>under_oom</c>; v2 throttled at <c>memory.high</c> (usage at 98 % of it or more, or its <c>high</c> event count grew
/// since the previous read).</param>
/// <param name="OomKills">Processes the OOM killer ended in this machine since it started (v1 <c>oom_kill</c> of
/// <c>memory.oom_control</c>, kernel 4.13 and later; v2 <c>oom_kill</c> of <c>memory.events</c>); null when the kernel
/// does not say. Counts from zero again at every start.</param>
public sealed record MachineMemoryState(long LimitMib, long UsageBytes, bool HoldAtLimit, bool Held, long? OomKills);
