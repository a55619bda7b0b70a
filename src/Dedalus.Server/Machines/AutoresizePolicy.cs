using Dedalus.Contracts;
using Dedalus.Server.Store;

namespace Dedalus.Server.Machines;

/// <summary>
/// RAM autoresizing, as numbers. A machine with autoresizing on may grow from its <c>memory_mib</c> up to a ceiling of
/// <c>memory_mib × AutoresizeCeilingFactor</c> (2 by default), never past the largest machine size. It grows in steps of
/// a quarter of its <c>memory_mib</c> (at least 64 MiB) whenever its use reaches 90 % of its limit or its processes are
/// held at the limit. Below the ceiling the runtime holds allocating processes at the limit instead of OOM-killing them
/// (until the next step releases them); at the ceiling the limit is a plain one again and the kernel's OOM killer acts.
/// </summary>
public sealed record AutoresizePolicy(double CeilingFactor, long MaxMemoryMib)
{
    /// <summary>The smallest step.</summary>
    public const long MinStepMib = 64;

    /// <summary>Use at or above this share of the limit asks for a step.</summary>
    public const double Threshold = 0.9;

    /// <summary>The most memory autoresizing gives <paramref name="machine"/>.</summary>
    public long CeilingMib(MachineRecord machine) =>
        Math.Max(machine.MemoryConfiguredMib, Math.Min((long)Math.Floor(machine.MemoryMib * CeilingFactor), MaxMemoryMib));

    /// <summary>One step for <paramref name="machine"/>.</summary>
    public static long StepMib(MachineRecord machine) => Math.Max(MinStepMib, (machine.MemoryMib + 3) / 4);

    /// <summary>Whether the runtime should hold processes at <paramref name="limitMib"/> rather than OOM-kill them.</summary>
    public bool HoldAt(MachineRecord machine, long limitMib, bool enabled) => enabled && limitMib < CeilingMib(machine);

    /// <summary>
    /// The next limit for a machine at <paramref name="limitMib"/> using <paramref name="usageBytes"/> (or held at its
    /// limit): a larger limit, or the same one when no step is needed or the ceiling is reached.
    /// </summary>
    public long NextLimitMib(MachineRecord machine, long limitMib, long usageBytes, bool held)
    {
        var pressed = held || usageBytes >= Threshold * limitMib * 1024 * 1024;
        return pressed ? Math.Min(limitMib + StepMib(machine), CeilingMib(machine)) : limitMib;
    }

    /// <summary>Whether a machine needs more than its ceiling: pressed at the ceiling.</summary>
    public bool AtCapacity(MachineRecord machine, long limitMib, long usageBytes, bool held) =>
        limitMib >= CeilingMib(machine) && (held || usageBytes >= Threshold * limitMib * 1024 * 1024);

    /// <summary>The resize state to report for these figures.</summary>
    public string StateFor(MachineRecord machine, long limitMib, long usageBytes, bool held) =>
        AtCapacity(machine, limitMib, usageBytes, held) ? MemoryResizeStates.PendingCapacity : MemoryResizeStates.Stable;
}
