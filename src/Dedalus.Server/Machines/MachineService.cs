using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Hosting;
using Dedalus.Server.Networking;
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
    Cluster.MachinePlacer placer,
    MachineNetworking networking,
    ServerOptions options,
    TimeProvider timeProvider)
{
    private const int MaxWriteAttempts = 16;

    /// <summary>The contract's defaults for a create that leaves sizes out.</summary>
    public const double DefaultVcpu = 1;

    /// <inheritdoc cref="DefaultVcpu"/>
    public const long DefaultMemoryMib = 4096;

    /// <inheritdoc cref="DefaultVcpu"/>
    public const long DefaultStorageGib = 10;

    public async Task<MachineRecord> CreateAsync(string orgId, CreateMachineRequest request, CancellationToken cancellationToken = default)
    {
        var vcpu = request.Vcpu ?? DefaultVcpu;
        var memory = request.MemoryMib ?? DefaultMemoryMib;
        var storage = request.StorageGib ?? DefaultStorageGib;
        var name = ValidName(request.Name);
        options.Limits.ValidateVcpu(vcpu);
        options.Limits.ValidateMemory(memory);
        options.Limits.ValidateStorage(storage);
        var autosleep = MachineLimits.ParseAutosleep(request.Autosleep);
        var policy = NetworkPolicy(request.Network, MachineNetworkPolicy.Default);

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
            Name = name,
            NetworkPolicy = policy is null ? null : NetworkPolicies.ToStored(policy),
        };
        // The org's quotas, then the node (with room, its storage and a port), in the insert's transaction.
        var admit = quotas.AdmitMachine(orgId, new ResourceDelta(1, vcpu, memory, storage));
        var place = placer.For(orgId, machine.Id, vcpu, memory, storage);
        var stored = await NamedWriteAsync(() => writer.InsertAsync(machine, place, admit, cancellationToken)).ConfigureAwait(false)
            ?? throw DomainException.Unavailable("no free gateway port on the node chosen; destroy a machine or widen the range");

        // The reconciler provisions it and opens its gateway port, whatever the caller does now.
        workQueue.Kick(stored.Id);
        return stored;
    }

    /// <summary>
    /// The caller's machine named by <paramref name="rawId"/>: its id (bare uuid or <c>dm-&lt;uuid&gt;</c>) or its name.
    /// 404 for another org's machine, and for one destroyed longer ago than <see cref="ServerOptions.DestroyedMachineRetention"/>.
    /// </summary>
    public async Task<MachineRecord> GetAsync(string orgId, string rawId, CancellationToken cancellationToken = default)
    {
        MachineRecord? machine;
        if (MachineIds.TryParse(rawId, out var machineId))
        {
            machine = await store.GetMachineAsync(machineId, cancellationToken).ConfigureAwait(false);
        }
        else if (MachineNames.Problem(rawId) is null)
        {
            machine = await store.FindMachineByNameAsync(orgId, rawId, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw DomainException.InvalidRequest($"'{Truncate(rawId)}' is neither a machine id (a uuid, or dm-<uuid>) nor a machine name", "machine_id");
        }

        return machine is not null && machine.OrgId == orgId && !IsGone(machine)
            ? machine
            : throw DomainException.NotFound(NotFoundResources.Machine, $"machine {Truncate(machineId is null ? rawId : MachineIds.Wire(machineId))} not found");
    }

    public Task<Page<MachineRecord>> ListAsync(string orgId, long after, int limit, CancellationToken cancellationToken = default) =>
        store.ListMachinesAsync(orgId, after, limit, timeProvider.GetUtcNow() - options.DestroyedMachineRetention, cancellationToken);

    /// <summary>A machine destroyed longer ago than the retention: no longer listed, 404 on every path.</summary>
    private bool IsGone(MachineRecord machine) =>
        machine.Phase == MachinePhases.Destroyed && machine.LastTransitionAt < timeProvider.GetUtcNow() - options.DestroyedMachineRetention;

    /// <summary>
    /// Asks for a reboot: a running machine stops (its processes get SIGTERM and <see cref="ServerOptions.RebootGrace"/>,
    /// or are killed at once with <paramref name="force"/>) and starts again with a fresh root file system, memory and
    /// processes; its id, name and <c>/home/machine</c> stay. A sleeping machine simply wakes (it has nothing to reset).
    /// Asking again while a reboot is pending changes nothing (a forced ask makes the pending one forced).
    /// </summary>
    public Task<MachineRecord> RebootAsync(string orgId, string rawId, bool force, CancellationToken cancellationToken = default) =>
        MutateAsync(orgId, rawId, expectedRevision: null, m =>
        {
            RequireAlive(m, DesiredStates.Running, "rebooted");
            var now = timeProvider.GetUtcNow();
            if (m.Phase != MachinePhases.Running)
            {
                // Nothing runs yet, or it is stopping (a reboot's stop included): the next start is a fresh boot.
                return m.DesiredState == DesiredStates.Running
                    ? null
                    : m with { DesiredState = DesiredStates.Running, Reason = "reboot_requested", LastActivityAt = now };
            }

            var mode = force ? RebootModes.Force : RebootModes.Graceful;
            if (m.Reboot == mode || m.Reboot == RebootModes.Force)
            {
                return null;
            }

            return m with { DesiredState = DesiredStates.Running, Reason = "reboot_requested", Reboot = mode, LastActivityAt = now };
        }, cancellationToken);

    /// <summary>The machine's autoresizing switch as it applies: its own, else the org's policy.</summary>
    public async Task<bool> GetAutoresizeAsync(string orgId, string rawId, CancellationToken cancellationToken = default)
    {
        var machine = await GetAsync(orgId, rawId, cancellationToken).ConfigureAwait(false);
        return machine.Autoresize ?? await store.GetOrgAutoresizeAsync(orgId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets the machine's own autoresizing switch; turning it off keeps the memory already added.</summary>
    public async Task<bool> SetAutoresizeAsync(string orgId, string rawId, bool enabled, CancellationToken cancellationToken = default)
    {
        await MutateAsync(orgId, rawId, expectedRevision: null, m =>
        {
            if (m.DesiredState == DesiredStates.Destroyed)
            {
                throw DomainException.InvalidState($"machine {MachineIds.Wire(m.Id)} is destroyed and cannot be changed", m.DesiredState, m.Phase, MachinePhases.Running, m.DesiredState);
            }

            return m.Autoresize == enabled ? null : m with { Autoresize = enabled };
        }, cancellationToken).ConfigureAwait(false);
        return enabled;
    }

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
        var rename = request.Name is not null;
        var name = request.Name is "" ? null : ValidName(request.Name);

        // Checked before the machine is read (a bad field is a 400 whatever the machine), merged onto its policy below.
        _ = NetworkPolicy(request.Network, MachineNetworkPolicy.Default);
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
            // A caller's memory_mib is the new base: the automatic increases over the old one are dropped.
            if (request.MemoryMib is not null && next.MemoryMib != m.MemoryMib)
            {
                next = next with { MemoryAutoresizedMib = 0, MemoryResizeState = null };
            }

            if (rename)
            {
                next = next with { Name = name };
            }

            if (NetworkPolicy(request.Network, NetworkPolicies.FromStored(m.NetworkPolicy)) is { } policy)
            {
                next = next with { NetworkPolicy = NetworkPolicies.ToStored(policy) };
            }

            var resized = next.Vcpu != m.Vcpu || next.MemoryConfiguredMib != m.MemoryConfiguredMib || next.StorageGib != m.StorageGib;
            var renetworked = next.NetworkPolicy != m.NetworkPolicy;
            if (!resized && !renetworked && next.AutosleepSeconds == m.AutosleepSeconds && next.Name == m.Name)
            {
                return null;
            }

            // The runtime applies both through the reconciler's resize step (a running machine's network within a second).
            var reason = resized ? "resize_requested" : renetworked ? "network_change_requested" : m.Reason;
            return next with { ResourcesDirty = m.ResourcesDirty || resized || renetworked, Reason = reason };
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

    private static void RequireAlive(MachineRecord m, string target, string? verb = null)
    {
        if (m.DesiredState == DesiredStates.Destroyed || m.Phase is MachinePhases.Failed or MachinePhases.Destroyed)
        {
            var expected = target == DesiredStates.Running ? MachinePhases.Sleeping : MachinePhases.Running;
            throw DomainException.InvalidState(
                $"machine {MachineIds.Wire(m.Id)} is {(m.Phase == MachinePhases.Failed ? "failed" : "destroyed")} and cannot be {verb ?? "made " + target}",
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
            if (await NamedWriteAsync(() => writer.TryWriteAndReturnAsync(current, next, admit?.Invoke(current, next), cancellationToken)).ConfigureAwait(false) is { } written)
            {
                workQueue.Kick(written.Id);
                return written;
            }
        }

        throw DomainException.Unavailable($"machine {Truncate(rawId)} is changing too fast; retry");
    }

    /// <summary>The policy a request's <c>network</c> asks for over <paramref name="current"/>; null when it has none.</summary>
    private MachineNetworkPolicy? NetworkPolicy(MachineNetworkSettings? request, MachineNetworkPolicy current)
    {
        if (request is not null && !networking.Enabled)
        {
            throw DomainException.InvalidRequest(
                "network cannot be set: this server runs machines without a network (dedalus-server --machine-network off)", "network");
        }

        return NetworkPolicies.Apply(request, current);
    }

    /// <summary>A machine name from a request, checked; null stays null.</summary>
    private static string? ValidName(string? name) =>
        name is null ? null
        : MachineNames.Problem(name) is { } problem ? throw DomainException.InvalidRequest($"name {problem}", "name")
        : name;

    /// <summary>A store write that may give a machine a name another machine holds: that is a 409 naming the holder.</summary>
    private static async Task<T> NamedWriteAsync<T>(Func<Task<T>> write)
    {
        try
        {
            return await write().ConfigureAwait(false);
        }
        catch (MachineNameTakenException e)
        {
            throw DomainException.NameTaken(e.Name, e.HolderId);
        }
    }

    private static string Truncate(string? value) => value is null ? string.Empty : value.Length <= 64 ? value : value[..64] + "...";
}
