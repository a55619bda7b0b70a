// TEMPORARY until the runtime's memory members land (helper H1): removed at merge.
namespace Dedalus.Machines.Runtime;

public sealed record MachineMemoryState(long LimitMib, long UsageBytes, bool Held, long OomKills);

public sealed record MachineMemoryPolicy(long LimitMib, bool HoldAtLimit);

public static class RuntimeShim
{
    public static Task<MachineMemoryState> ReadMemoryAsync(this IMachineRuntime runtime, string machineId, CancellationToken cancellationToken = default) =>
        throw new MachineNotRunningException(machineId);

    public static Task SetMemoryAsync(this IMachineRuntime runtime, string machineId, MachineMemoryPolicy policy, CancellationToken cancellationToken = default) =>
        Task.CompletedTask;

    public static Task StopAsync(this IMachineRuntime runtime, string machineId, TimeSpan grace, CancellationToken cancellationToken = default) =>
        runtime.StopAsync(machineId, cancellationToken);
}
