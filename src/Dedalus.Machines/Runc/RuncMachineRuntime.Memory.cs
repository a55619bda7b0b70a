using System.Collections.Concurrent;
using Dedalus.Machines.Host;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    private const long MiB = 1024 * 1024;

    /// <summary>cgroup v2 only: each running machine's <c>memory.events</c> <c>high</c> count at its previous read.</summary>
    private readonly ConcurrentDictionary<string, long> _highEvents = new(StringComparer.Ordinal);

    /// <inheritdoc />
    /// <remarks>
    /// Reads the machine's memory cgroup files (see <see cref="MemoryCgroup"/>): a few stat and read calls, no process,
    /// and no wait for the machine's lock, so it answers while a start, stop or resize of the machine is under way.
    /// </remarks>
    public Task<MachineMemoryState> ReadMemoryAsync(string machineId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _ = RunningMachinePaths(machineId);
        var cgroup = MemoryCgroup.OfMachine(OciSpec.CgroupsPath(machineId));
        MemoryReading reading;
        try
        {
            reading = cgroup.Read();
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            // Between runc's state file and its cgroup: a machine starting or going to sleep.
            throw cgroup.Exists
                ? new MachineRuntimeException(machineId, $"the memory cgroup of {machineId} is unreadable: {e.Message}", e)
                : new MachineNotRunningException(machineId, e);
        }

        var held = reading.AtLimit;
        if (cgroup.IsUnified)
        {
            var previous = _highEvents.GetValueOrDefault(machineId, reading.HighEvents);
            _highEvents[machineId] = reading.HighEvents;
            held |= reading.HoldAtLimit && reading.HighEvents > previous;
        }

        return Task.FromResult(new MachineMemoryState(
            reading.LimitBytes == long.MaxValue ? long.MaxValue : reading.LimitBytes / MiB, reading.UsageBytes, reading.HoldAtLimit, held, reading.OomKills));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Live, the cgroup files are written directly (no process); the record is written after, so a limit the kernel
    /// refuses changes nothing. A sleeping machine only has its record changed.
    /// </remarks>
    public async Task SetMemoryAsync(string machineId, MachineMemoryPolicy policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.LimitMib < MinimumMemoryMib || policy.CeilingMib is <= 0)
        {
            throw new ArgumentException(
                $"invalid memory policy: limit {policy.LimitMib} MiB (at least {MinimumMemoryMib}), ceiling {policy.CeilingMib?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}",
                nameof(policy));
        }

        var paths = PathsOf(machineId);
        using var held = await LockAsync(machineId, cancellationToken).ConfigureAwait(false);
        var current = ReadRecord(machineId, paths);
        var updated = current with { MemoryMib = policy.LimitMib, MemoryHoldAtLimit = policy.HoldAtLimit, MemoryCeilingMib = policy.CeilingMib };
        var live = ApplyMemoryLive(machineId, updated);
        if (updated != current)
        {
            // config.json is written from the record at every start.
            WriteRecord(paths, updated);
            RuncLog.MachineMemorySet(_logger, machineId, policy.LimitMib, policy.HoldAtLimit, live);
        }
    }

    /// <summary>
    /// Applies the record's memory limit and hold mode to the machine's running cgroup; false when there is none
    /// (asleep, or its container is not there).
    /// </summary>
    private bool ApplyMemoryLive(string machineId, MachineManifest record)
    {
        if (!File.Exists(Path.Combine(_options.RuncRoot, machineId, "state.json")))
        {
            return false;
        }

        var cgroup = MemoryCgroup.OfMachine(OciSpec.CgroupsPath(machineId));
        if (!cgroup.Exists)
        {
            return false;
        }

        try
        {
            cgroup.Apply(OciSpec.MemoryBytes(record.MemoryMib), record.MemoryHoldAtLimit, OciSpec.MemoryBytes(record.MemoryHardLimitMib));
            return true;
        }
        catch (IOException e)
        {
            throw new MachineRuntimeException(
                machineId, $"could not set the memory of {machineId} to {record.MemoryMib} MiB (hold at limit: {record.MemoryHoldAtLimit}): {e.Message}", e);
        }
    }
}
