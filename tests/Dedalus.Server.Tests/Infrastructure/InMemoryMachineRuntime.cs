using System.Collections.Concurrent;
using Dedalus.Contracts;
using Dedalus.Machines.Runtime;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// A runtime that only keeps state in memory: no processes, no isolation. A test double for the API's
/// logic tests and the session-create load driver (the product runs runc); hooks let tests hold or fail operations.
/// </summary>
public sealed class InMemoryMachineRuntime : IMachineRuntime
{
    private readonly ConcurrentDictionary<string, (MachineRuntimeState State, MachineSpec Spec)> _machines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<(MachineSshMaterial Material, MachineRuntimeState State)>> _hostIdentities = new(StringComparer.Ordinal);
    private MachineSshTrust? _trust;
    private int _trustWrites;

    /// <summary>Awaited before every start (tests hold wakes with it).</summary>
    public Func<string, CancellationToken, Task>? BeforeStart { get; set; }

    /// <summary>Awaited before every delete (tests hold destructions with it).</summary>
    public Func<string, CancellationToken, Task>? BeforeDelete { get; set; }

    /// <summary>Awaited before every resize (tests hold resizes with it).</summary>
    public Func<string, CancellationToken, Task>? BeforeResize { get; set; }

    /// <summary>Awaited before every trust write, with the caller's token (tests hold or abort publishes with it).</summary>
    public Func<CancellationToken, Task>? BeforeTrustWrite { get; set; }

    /// <summary>When set, every operation on a machine whose id it accepts fails.</summary>
    public Func<string, bool>? FailWhen { get; set; }

    public MachineSshTrust? LastTrust => Volatile.Read(ref _trust);

    public int TrustWrites => Volatile.Read(ref _trustWrites);

    /// <summary>A machine's spec; <paramref name="machineId"/> in any form the API takes (responses carry the bare uuid).</summary>
    public MachineSpec? GetSpec(string machineId) => _machines.TryGetValue(Canonical(machineId), out var m) ? m.Spec : null;

    /// <summary>The server's own form of a machine id (<c>dm-&lt;uuid&gt;</c>) for one read from a response.</summary>
    public static string Canonical(string machineId) => MachineIds.TryParse(machineId, out var canonical) ? canonical : machineId;

    /// <summary>Every host identity installed on the machine so far, oldest first, with the state the machine was in.</summary>
    public IReadOnlyList<(MachineSshMaterial Material, MachineRuntimeState State)> HostIdentities(string machineId)
    {
        if (!_hostIdentities.TryGetValue(Canonical(machineId), out var installed))
        {
            return [];
        }

        lock (installed)
        {
            return [.. installed];
        }
    }

    public Task InstallHostIdentityAsync(string machineId, MachineSshMaterial material, CancellationToken cancellationToken = default)
    {
        Check(machineId);
        if (!_machines.TryGetValue(machineId, out var machine))
        {
            throw new MachineNotFoundException(machineId);
        }

        var installed = _hostIdentities.GetOrAdd(machineId, _ => []);
        lock (installed)
        {
            installed.Add((material, machine.State));
        }

        return Task.CompletedTask;
    }

    public Task CreateAsync(MachineSpec spec, CancellationToken cancellationToken = default)
    {
        Check(spec.MachineId);
        _machines.TryAdd(spec.MachineId, (MachineRuntimeState.Sleeping, spec));
        return Task.CompletedTask;
    }

    public async Task StartAsync(string machineId, CancellationToken cancellationToken = default)
    {
        if (BeforeStart is { } hook)
        {
            await hook(machineId, cancellationToken).ConfigureAwait(false);
        }

        Set(machineId, MachineRuntimeState.Running);
    }

    public Task StopAsync(string machineId, CancellationToken cancellationToken = default)
    {
        Set(machineId, MachineRuntimeState.Sleeping);
        return Task.CompletedTask;
    }

    /// <summary>Every graceful stop asked for, with its grace (reboots), in order.</summary>
    public ConcurrentQueue<(string MachineId, TimeSpan Grace)> GracefulStops { get; } = new();

    public Task StopAsync(string machineId, TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        GracefulStops.Enqueue((machineId, gracePeriod));
        return StopAsync(machineId, cancellationToken);
    }

    private readonly ConcurrentDictionary<string, MachineMemoryPolicy> _memory = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long UsageBytes, bool Held)> _usage = new(StringComparer.Ordinal);

    /// <summary>Sets what <see cref="ReadMemoryAsync"/> reports as the machine's use (the limit is the applied one).</summary>
    public void SetUsage(string machineId, long usageBytes, bool held = false) => _usage[Canonical(machineId)] = (usageBytes, held);

    /// <summary>The memory policy last applied to the machine, if any.</summary>
    public MachineMemoryPolicy? MemoryPolicy(string machineId) => _memory.TryGetValue(Canonical(machineId), out var p) ? p : null;

    public Task<MachineMemoryState> ReadMemoryAsync(string machineId, CancellationToken cancellationToken = default)
    {
        if (!_machines.TryGetValue(machineId, out var machine))
        {
            throw new MachineNotFoundException(machineId);
        }

        if (machine.State != MachineRuntimeState.Running)
        {
            throw new MachineNotRunningException(machineId);
        }

        var policy = _memory.TryGetValue(machineId, out var p) ? p : new MachineMemoryPolicy(machine.Spec.Resources.MemoryMib, false);
        var (usage, held) = _usage.TryGetValue(machineId, out var u) ? u : (0L, false);
        return Task.FromResult(new MachineMemoryState(policy.LimitMib, usage, policy.HoldAtLimit, held && policy.HoldAtLimit, 0));
    }

    public Task SetMemoryAsync(string machineId, MachineMemoryPolicy policy, CancellationToken cancellationToken = default)
    {
        Check(machineId);
        if (!_machines.ContainsKey(machineId))
        {
            throw new MachineNotFoundException(machineId);
        }

        _memory[machineId] = policy;
        return Task.CompletedTask;
    }

    public async Task DeleteAsync(string machineId, CancellationToken cancellationToken = default)
    {
        if (BeforeDelete is { } hook)
        {
            await hook(machineId, cancellationToken).ConfigureAwait(false);
        }

        Check(machineId);
        _machines.TryRemove(machineId, out _);
    }

    public async Task ResizeAsync(string machineId, MachineResources resources, CancellationToken cancellationToken = default)
    {
        if (BeforeResize is { } hook)
        {
            await hook(machineId, cancellationToken).ConfigureAwait(false);
        }

        Check(machineId);
        if (_machines.TryGetValue(machineId, out var machine))
        {
            if (resources.StorageGib < machine.Spec.Resources.StorageGib)
            {
                throw new MachineRuntimeException(machineId, "storage cannot shrink");
            }

            _machines[machineId] = machine with { Spec = machine.Spec with { Resources = resources } };
            if (_memory.TryGetValue(machineId, out var policy))
            {
                _memory[machineId] = policy with { LimitMib = resources.MemoryMib };
            }
        }
    }

    /// <summary>The network each machine was last given (spec at create, or ConfigureNetworkAsync).</summary>
    public MachineNetwork? NetworkOf(string machineId) => _machines.TryGetValue(machineId, out var m) ? m.Spec.Network : null;

    public Task ConfigureNetworkAsync(string machineId, MachineNetwork network, CancellationToken cancellationToken = default)
    {
        Check(machineId);
        if (!_machines.TryGetValue(machineId, out var machine))
        {
            throw new MachineNotFoundException(machineId);
        }

        _machines[machineId] = machine with { Spec = machine.Spec with { Network = network } };
        return Task.CompletedTask;
    }

    public Task<MachineRuntimeState> GetStateAsync(string machineId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_machines.TryGetValue(machineId, out var m) ? m.State : MachineRuntimeState.Missing);

    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<string>>([.. _machines.Keys]);

    public async Task WriteSshTrustAsync(MachineSshTrust trust, CancellationToken cancellationToken = default)
    {
        if (BeforeTrustWrite is { } hook)
        {
            await hook(cancellationToken).ConfigureAwait(false);
        }

        Volatile.Write(ref _trust, trust);
        Interlocked.Increment(ref _trustWrites);
    }

    public Task<IMachineProcess> ExecAsync(string machineId, MachineExecRequest request, CancellationToken cancellationToken = default) =>
        throw new MachineRuntimeException(machineId, "the in-memory runtime runs no processes");

    /// <summary>Every execution asked of this runtime, as asked.</summary>
    public ConcurrentQueue<MachineExecutionRequest> ExecutionRequests { get; } = new();

    /// <summary>When set, executions run as it makes them (the tests' <c>EchoExecution</c>); else none can start.</summary>
    public Func<MachineExecutionRequest, IMachineExecution>? RunExecution { get; set; }

    public Task<IMachineExecution> StartExecutionAsync(string machineId, MachineExecutionRequest request, CancellationToken cancellationToken = default)
    {
        ExecutionRequests.Enqueue(request);
        return RunExecution is { } run
            ? Task.FromResult(run(request))
            : throw new MachineRuntimeException(machineId, "the in-memory runtime runs no processes");
    }

    public Task EndExecutionAsync(string machineId, string name, CancellationToken cancellationToken = default) => Task.CompletedTask;

    private void Set(string machineId, MachineRuntimeState state)
    {
        Check(machineId);
        if (!_machines.TryGetValue(machineId, out var machine))
        {
            throw new MachineRuntimeException(machineId, $"machine {machineId} is not provisioned");
        }

        _machines[machineId] = machine with { State = state };
    }

    private void Check(string machineId)
    {
        if (FailWhen?.Invoke(machineId) == true)
        {
            throw new MachineRuntimeException(machineId, "simulated runtime failure");
        }
    }
}
