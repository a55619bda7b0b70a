using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Dedalus.Server.Hosting;
using Dedalus.Server.Quotas;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Store;

namespace Dedalus.Server.Machines;

/// <summary>
/// The machine operations' rules: validation, desired-state transitions and revisions (optimistic concurrency).
/// It writes desired state and kicks the reconciler; it never calls the runtime.
/// </summary>
public sealed class MachineService(
    IStore store,
    MachineWriter writer,
    MachineWorkQueue workQueue,
    QuotaService quotas,
    ServerOptions options,
    TimeProvider timeProvider)
{
    private const int MaxWriteAttempts = 16;

    public async Task<MachineRecord> CreateAsync(string orgId, CreateMachineRequest request, CancellationToken cancellationToken = default)
    {
        var vcpu = request.Vcpu ?? throw DomainException.InvalidRequest("vcpu is required", "vcpu");
        var memory = request.MemoryMib ?? throw DomainException.InvalidRequest("memory_mib is required", "memory_mib");
        var storage = request.StorageGib ?? throw DomainException.InvalidRequest("storage_gib is required", "storage_gib");
        options.Limits.ValidateVcpu(vcpu);
        options.Limits.ValidateMemory(memory);
        options.Limits.ValidateStorage(storage);
        var autosleep = MachineLimits.ParseAutosleep(request.Autosleep);

        var now = timeProvider.GetUtcNow();
        var machine = new MachineRecord
        {
            Id = MachineIds.Format(Guid.CreateVersion7(now)),
            OrgId = orgId,
            Vcpu = vcpu,
            MemoryMib = memory,
            StorageGib = storage,
            AutosleepSeconds = autosleep,
            DesiredState = DesiredStates.Running,
            Phase = MachinePhases.Accepted,
            Reason = "created",
            Revision = 1,
            CreatedAt = now,
            LastTransitionAt = now,
            LastProgressAt = now,
            LastActivityAt = now,
        };
        // The org's quotas and the host's storage are checked in the insert's transaction, before a port is taken.
        var admit = quotas.AdmitMachine(orgId, new ResourceDelta(1, vcpu, memory, storage));
        var stored = await writer.InsertAsync(machine, options.GatewayPorts, admit, cancellationToken).ConfigureAwait(false)
            ?? throw DomainException.Unavailable($"no free gateway port in {options.GatewayPorts}; destroy a machine or widen the range");

        // The reconciler provisions it and opens its gateway port, whatever the caller does now.
        workQueue.Kick(stored.Id);
        return stored;
    }

    /// <summary>The caller's machine, or 404 (also for another org's machine).</summary>
    public async Task<MachineRecord> GetAsync(string orgId, string rawId, CancellationToken cancellationToken = default)
    {
        if (!MachineIds.TryParse(rawId, out var machineId))
        {
            throw DomainException.InvalidRequest($"'{Truncate(rawId)}' is not a machine id (dm-<uuid> or a bare uuid)", "machine_id");
        }

        var machine = await store.GetMachineAsync(machineId, cancellationToken).ConfigureAwait(false);
        return machine is not null && machine.OrgId == orgId
            ? machine
            : throw DomainException.NotFound(NotFoundResources.Machine, $"machine {machineId} not found");
    }

    public Task<Page<MachineRecord>> ListAsync(string orgId, long after, int limit, CancellationToken cancellationToken = default) =>
        store.ListMachinesAsync(orgId, after, limit, cancellationToken);

    public Task<MachineRecord> UpdateAsync(string orgId, string rawId, UpdateMachineRequest request, long? expectedRevision, CancellationToken cancellationToken = default)
    {
        if (request.Vcpu is { } vcpu)
        {
            options.Limits.ValidateVcpu(vcpu);
        }

        if (request.MemoryMib is { } memory)
        {
            options.Limits.ValidateMemory(memory);
        }

        if (request.StorageGib is { } storage)
        {
            options.Limits.ValidateStorage(storage);
        }

        long? autosleep = request.Autosleep is null ? null : MachineLimits.ParseAutosleep(request.Autosleep);
        return MutateAsync(orgId, rawId, expectedRevision, m =>
        {
            if (m.DesiredState == DesiredStates.Destroyed)
            {
                throw DomainException.InvalidState($"machine {m.Id} is destroyed and cannot be changed", m.DesiredState, m.Phase, MachinePhases.Running, m.DesiredState);
            }

            // Nothing drives a failed machine any more: a change would be accepted (202) and never applied.
            if (m.Phase == MachinePhases.Failed)
            {
                throw DomainException.InvalidState($"machine {m.Id} is failed and cannot be changed; delete it", m.DesiredState, "error", m.DesiredState, m.DesiredState);
            }

            if (request.StorageGib is { } grow && grow < m.StorageGib)
            {
                throw DomainException.InvalidRequest($"storage_gib can only grow: the machine has {m.StorageGib} GiB, {grow} was asked", "storage_gib");
            }

            var next = m with
            {
                Vcpu = request.Vcpu ?? m.Vcpu,
                MemoryMib = request.MemoryMib ?? m.MemoryMib,
                StorageGib = request.StorageGib ?? m.StorageGib,
                AutosleepSeconds = autosleep ?? m.AutosleepSeconds,
            };
            var resized = next.Vcpu != m.Vcpu || next.MemoryMib != m.MemoryMib || next.StorageGib != m.StorageGib;
            if (!resized && next.AutosleepSeconds == m.AutosleepSeconds)
            {
                return null;
            }

            return next with { ResourcesDirty = m.ResourcesDirty || resized, Reason = resized ? "resize_requested" : m.Reason };
        }, quotas.AdmitResize, cancellationToken);
    }

    public async Task<MachineRecord> DeleteAsync(string orgId, string rawId, long? expectedRevision, CancellationToken cancellationToken = default)
    {
        var machine = await MutateAsync(orgId, rawId, expectedRevision, m => m.DesiredState == DesiredStates.Destroyed
            ? null
            : m with { DesiredState = DesiredStates.Destroyed, Reason = "destroy_requested" }, cancellationToken).ConfigureAwait(false);

        // A repeated delete of a machine whose destruction failed tries again.
        if (machine.DesiredState == DesiredStates.Destroyed && !machine.IsConverged)
        {
            workQueue.Kick(machine.Id);
        }

        return machine;
    }

    public Task<MachineRecord> SleepAsync(string orgId, string rawId, long? expectedRevision, CancellationToken cancellationToken = default) =>
        MutateAsync(orgId, rawId, expectedRevision, m =>
        {
            RequireAlive(m, DesiredStates.Sleeping);
            return m.DesiredState == DesiredStates.Sleeping ? null : m with { DesiredState = DesiredStates.Sleeping, Reason = "sleep_requested" };
        }, cancellationToken);

    public Task<MachineRecord> WakeAsync(string orgId, string rawId, long? expectedRevision, CancellationToken cancellationToken = default) =>
        MutateAsync(orgId, rawId, expectedRevision, m =>
        {
            RequireAlive(m, DesiredStates.Running);
            return m.DesiredState == DesiredStates.Running
                ? null
                : m with { DesiredState = DesiredStates.Running, Reason = "wake_requested", LastActivityAt = timeProvider.GetUtcNow() };
        }, cancellationToken);

    /// <summary>Sets desired state running for a session or a gateway connection (no revision check); wakes coalesce.</summary>
    public async Task<MachineRecord> RequestWakeAsync(MachineRecord machine, CancellationToken cancellationToken = default)
    {
        var current = machine;
        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            if (current.DesiredState != DesiredStates.Sleeping)
            {
                if (!current.IsConverged)
                {
                    workQueue.Kick(current.Id);
                }

                return current;
            }

            var next = current with { DesiredState = DesiredStates.Running, Reason = "wake_requested", LastActivityAt = timeProvider.GetUtcNow(), LastProgressAt = timeProvider.GetUtcNow() };
            if (await writer.TryWriteAndReturnAsync(current, next, cancellationToken).ConfigureAwait(false) is { } written)
            {
                workQueue.Kick(written.Id);
                return written;
            }

            current = await store.GetMachineAsync(machine.Id, cancellationToken).ConfigureAwait(false) ?? machine;
        }

        throw DomainException.Unavailable($"machine {machine.Id} is changing too fast; retry");
    }

    private static void RequireAlive(MachineRecord m, string target)
    {
        if (m.DesiredState == DesiredStates.Destroyed || m.Phase is MachinePhases.Failed or MachinePhases.Destroyed)
        {
            var expected = target == DesiredStates.Running ? MachinePhases.Sleeping : MachinePhases.Running;
            throw DomainException.InvalidState(
                $"machine {m.Id} is {(m.Phase == MachinePhases.Failed ? "failed" : "destroyed")} and cannot be made {target}",
                m.DesiredState,
                m.Phase == MachinePhases.Failed ? "error" : m.Phase,
                expected,
                target);
        }
    }

    /// <summary>
    /// Reads, checks the caller's <paramref name="expectedRevision"/> (null: any), applies <paramref name="change"/>
    /// (null = nothing to change) and writes with compare-and-swap.
    /// </summary>
    private Task<MachineRecord> MutateAsync(string orgId, string rawId, long? expectedRevision, Func<MachineRecord, MachineRecord?> change, CancellationToken cancellationToken) =>
        MutateAsync(orgId, rawId, expectedRevision, change, admit: null, cancellationToken);

    /// <summary>
    /// <inheritdoc cref="MutateAsync(string, string, long?, Func{MachineRecord, MachineRecord?}, CancellationToken)"/> <paramref name="admit"/>,
    /// given the machine before and after the change, may return a quota check for the write's transaction.
    /// </summary>
    private async Task<MachineRecord> MutateAsync(
        string orgId, string rawId, long? expectedRevision, Func<MachineRecord, MachineRecord?> change,
        Func<MachineRecord, MachineRecord, Action<IResourceReader>?>? admit, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            var current = await GetAsync(orgId, rawId, cancellationToken).ConfigureAwait(false);
            if (expectedRevision is { } expected && expected != current.Revision)
            {
                throw DomainException.RevisionMismatch(current.Revision, expected);
            }

            var next = change(current);
            if (next is null)
            {
                return current;
            }

            var now = timeProvider.GetUtcNow();
            next = next with { LastProgressAt = now };
            if (await writer.TryWriteAndReturnAsync(current, next, admit?.Invoke(current, next), cancellationToken).ConfigureAwait(false) is { } written)
            {
                workQueue.Kick(written.Id);
                return written;
            }
        }

        throw DomainException.Unavailable($"machine {Truncate(rawId)} is changing too fast; retry");
    }

    private static string Truncate(string? value) => value is null ? string.Empty : value.Length <= 64 ? value : value[..64] + "...";
}
