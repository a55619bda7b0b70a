namespace Dedalus.Machines.Runtime;

/// <summary>
/// How a machine's memory is limited (see <see cref="IMachineRuntime.SetMemoryAsync"/>): the limit the control plane
/// raises step by step when it autoresizes, and what happens to a machine that reaches it.
/// </summary>
/// <param name="LimitMib">The limit in MiB (at least 16). On cgroup v1 the hard limit (<c>memory.limit_in_bytes</c>); on
/// cgroup v2 the soft one (<c>memory.high</c>) while <paramref name="HoldAtLimit"/>, else the hard one (<c>memory.max</c>).</param>
/// <param name="HoldAtLimit">True: a machine that reaches its limit is not OOM-killed; the processes that allocate wait
/// (are held) until the limit is raised. False: the kernel's OOM killer ends a process at the limit, as usual.</param>
/// <param name="CeilingMib">The most the control plane will ever raise the limit to. Used on cgroup v2 only, where the
/// kernel cannot hold a process at a hard limit: while <paramref name="HoldAtLimit"/> it is the hard limit
/// (<c>memory.max</c>) above the throttling one. Null (or less than <paramref name="LimitMib"/>) means
/// <paramref name="LimitMib"/>, and then holding on cgroup v2 is no different from OOM-killing. Ignored on cgroup v1.</param>
public sealed record MachineMemoryPolicy(long LimitMib, bool HoldAtLimit, long? CeilingMib = null);
