using Dedalus.Contracts;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Networking;
using Dedalus.Server.Store;
using Dedalus.Server.Telemetry;

namespace Dedalus.Server.Reconciliation;

public sealed partial class Reconciler
{
    /// <summary>Moves one machine step by step until it is converged (or failed, or the store changed under us and a new pass is queued).</summary>
    internal async Task ReconcileAsync(string machineId, CancellationToken cancellationToken)
    {
        var failures = 0;
        for (var step = 0; step < MaxStepsPerPass; step++)
        {
            var machine = await store.GetMachineAsync(machineId, cancellationToken).ConfigureAwait(false);
            if (machine is null || !local.Owns(machine.NodeId))
            {
                return;
            }

            // Idempotent: a machine's port opens on its first pass (creation, or start-up repair) and stays open; a port
            // another process holds is retried, then moved (Reconciler.Ports.cs). A written port status is read back.
            if (step == 0 && machine.DesiredState != DesiredStates.Destroyed && await EnsureListeningAsync(machine, cancellationToken).ConfigureAwait(false))
            {
                machine = await store.GetMachineAsync(machineId, cancellationToken).ConfigureAwait(false);
                if (machine is null)
                {
                    return;
                }
            }

            if (machine.Phase == MachinePhases.Destroyed || (machine.Phase == MachinePhases.Failed && machine.DesiredState != DesiredStates.Destroyed))
            {
                // Nothing left to drive; a session stored while the machine ended still learns it.
                await sessions.MachineChangedAsync(machine, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (machine.IsConverged && _verify.TryRemove(machine.Id, out _) && await RepairAsync(machine, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            if (machine.IsConverged && !machine.ResourcesDirty)
            {
                // A running machine's host certificate is renewed here, on the machine's worker, so that it never races
                // a stop or delete: the sweep kicks machines that are due, and after a restart every running one is.
                if (machine.Phase == MachinePhases.Running)
                {
                    await hostIdentities.RenewIfDueAsync(machine.Id, cancellationToken).ConfigureAwait(false);
                }

                // Sessions stored since the last transition (the kick that brought us here) learn the machine's state.
                await sessions.MachineChangedAsync(machine, cancellationToken).ConfigureAwait(false);
                return;
            }

            try
            {
                if (!await StepAsync(machine, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is not StoreUnavailableException)
            {
                // A runtime hiccup should not fail a machine for good: retry the step a few times, backing off.
                if (++failures < options.ReconcileAttempts)
                {
                    ServerLog.RuntimeRetrying(logger, machine.Id, machine.DesiredState, failures, ex);
                    metrics.Error(ReconcilerMetrics.RuntimeRetry);
                    await Task.Delay(options.ReconcileRetryDelay * failures, timeProvider, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await FailAsync(machine, ex, cancellationToken).ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>Makes the runtime match a converged machine after a restart; true when a transition was written.</summary>
    private async Task<bool> RepairAsync(MachineRecord machine, CancellationToken cancellationToken)
    {
        var state = await runtime.GetStateAsync(machine.Id, cancellationToken).ConfigureAwait(false);
        switch (machine.Phase)
        {
            case MachinePhases.Running when state != MachineRuntimeState.Running:
                return await TransitionAsync(machine, MachinePhases.Starting, "repair", cancellationToken).ConfigureAwait(false) is not null;
            case MachinePhases.Sleeping when state == MachineRuntimeState.Running:
                return await TransitionAsync(machine, MachinePhases.Stopping, "repair", cancellationToken).ConfigureAwait(false) is not null;
            case MachinePhases.Sleeping when state is MachineRuntimeState.Missing or MachineRuntimeState.Broken:
                await EnsureProvisionedAsync(machine, cancellationToken).ConfigureAwait(false);
                await runtime.StopAsync(machine.Id, cancellationToken).ConfigureAwait(false);
                return false;
            default:
                return false;
        }
    }

    /// <summary>One transition. False when the write lost a race (the caller re-reads).</summary>
    private async Task<bool> StepAsync(MachineRecord machine, CancellationToken cancellationToken)
    {
        switch (machine.DesiredState)
        {
            case DesiredStates.Destroyed:
                if (machine.Phase != MachinePhases.Destroying)
                {
                    return await TransitionAsync(machine, MachinePhases.Destroying, "destroying", cancellationToken).ConfigureAwait(false) is not null;
                }

                await ports.CloseAsync(machine.Id, cancellationToken).ConfigureAwait(false);
                portRecovery.Forget(machine.Id);
                await runtime.DeleteAsync(machine.Id, cancellationToken).ConfigureAwait(false);
                hostIdentities.Forget(machine.Id);
                return await TransitionAsync(machine, MachinePhases.Destroyed, "destroyed", cancellationToken).ConfigureAwait(false) is not null;

            case DesiredStates.Running:
                if (machine.Phase == MachinePhases.Running)
                {
                    return machine.Reboot is not null
                        ? await TransitionAsync(machine, MachinePhases.Stopping, "rebooting", cancellationToken).ConfigureAwait(false) is not null
                        : await ResizeAsync(machine, cancellationToken).ConfigureAwait(false);
                }

                if (machine.Phase == MachinePhases.Stopping && machine.Reboot is { } reboot)
                {
                    // A reboot: every process ends (with a grace unless forced), the root file system and memory go; the
                    // start below gives a new host key, as every wake does.
                    await StopForRebootAsync(machine.Id, reboot, cancellationToken).ConfigureAwait(false);
                    hostIdentities.Forget(machine.Id);
                    return await TransitionAsync(machine with { Reboot = null }, MachinePhases.Starting, "rebooting", cancellationToken).ConfigureAwait(false) is not null;
                }

                if (machine.Phase != MachinePhases.Starting)
                {
                    return await TransitionAsync(machine, MachinePhases.Starting, "starting", cancellationToken).ConfigureAwait(false) is not null;
                }

                await EnsureProvisionedAsync(machine, cancellationToken).ConfigureAwait(false);

                // Every wake gets a new host key and a certificate valid from now: whatever the machine's root read of
                // the last key stops verifying within the lifetime, and a machine never starts with a stale certificate.
                await hostIdentities.InstallAsync(machine.Id, "wake", cancellationToken).ConfigureAwait(false);
                if (await NetworkOfAsync(machine, cancellationToken).ConfigureAwait(false) is { } network)
                {
                    // Every start: the runtime keeps it, but a machine created before networking (or a changed subnet) learns it here.
                    await runtime.ConfigureNetworkAsync(machine.Id, network, cancellationToken).ConfigureAwait(false);
                }

                await runtime.StartAsync(machine.Id, cancellationToken).ConfigureAwait(false);

                // The listening sshd starts beside the transition, not before it: a first connection waits for the same start.
                _ = sshServers.PrepareAsync(machine.Id, CancellationToken.None);
                return await TransitionAsync(machine, MachinePhases.Running, "running", cancellationToken, clearDirty: true).ConfigureAwait(false) is not null;

            case DesiredStates.Sleeping:
                if (machine.Phase == MachinePhases.Sleeping)
                {
                    return await ResizeAsync(machine, cancellationToken).ConfigureAwait(false);
                }

                if (machine.Phase is MachinePhases.Running or MachinePhases.Starting)
                {
                    return await TransitionAsync(machine, MachinePhases.Stopping, machine.Reason == "autosleep" ? "autosleep" : "stopping", cancellationToken).ConfigureAwait(false) is not null;
                }

                // accepted (never provisioned) or stopping: make sure it exists, then stop it.
                await EnsureProvisionedAsync(machine, cancellationToken).ConfigureAwait(false);
                await runtime.StopAsync(machine.Id, cancellationToken).ConfigureAwait(false);
                hostIdentities.Forget(machine.Id);
                return await TransitionAsync(machine, MachinePhases.Sleeping, machine.Reason == "autosleep" ? "autosleep" : "sleeping", cancellationToken, clearDirty: true).ConfigureAwait(false) is not null;

            default:
                throw new InvalidOperationException($"unknown desired state '{machine.DesiredState}'");
        }
    }

    private async Task EnsureProvisionedAsync(MachineRecord machine, CancellationToken cancellationToken)
    {
        var state = await runtime.GetStateAsync(machine.Id, cancellationToken).ConfigureAwait(false);
        var resources = Resources(machine);
        if (state == MachineRuntimeState.Missing)
        {
            // The runtime wants host files at creation; they are replaced before the machine first starts.
            var material = authority.IssueHostIdentity(machine.Id, timeProvider.GetUtcNow()).Material;
            var network = await NetworkOfAsync(machine, cancellationToken).ConfigureAwait(false);
            await runtime.CreateAsync(new MachineSpec(machine.Id, resources, material, network), cancellationToken).ConfigureAwait(false);
            ServerLog.MachineProvisioned(logger, machine.Id);
        }
        else if (machine.ResourcesDirty)
        {
            await runtime.ResizeAsync(machine.Id, resources, cancellationToken).ConfigureAwait(false);
            await ConfigureNetworkAsync(machine, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The machine's network with networking on (null with it off): its stored address, or the lowest free one of the
    /// subnet, stored now (a machine created before networking, or whose address a subnet change left outside, gets one).
    /// </summary>
    private async Task<MachineNetwork?> NetworkOfAsync(MachineRecord machine, CancellationToken cancellationToken)
    {
        if (!networking.Enabled)
        {
            return null;
        }

        var address = machine.NetworkAddress;
        if (!networking.Holds(address))
        {
            address = await store.AssignNetworkAddressAsync(machine.Id, networking.Candidates(), networking.Holds, cancellationToken).ConfigureAwait(false)
                ?? throw new MachineRuntimeException(machine.Id, "no free address in the machine network; destroy a machine or give the server a larger --machine-network");
            ServerLog.NetworkAddressAssigned(logger, machine.Id, address);
        }

        return MachineNetworking.NetworkOf(machine with { NetworkAddress = address });
    }

    /// <summary>Applies the machine's network policy (live when it runs); nothing with networking off.</summary>
    private async Task ConfigureNetworkAsync(MachineRecord machine, CancellationToken cancellationToken)
    {
        if (await NetworkOfAsync(machine, cancellationToken).ConfigureAwait(false) is { } network)
        {
            await runtime.ConfigureNetworkAsync(machine.Id, network, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> ResizeAsync(MachineRecord machine, CancellationToken cancellationToken)
    {
        await runtime.ResizeAsync(machine.Id, Resources(machine), cancellationToken).ConfigureAwait(false);
        await ConfigureNetworkAsync(machine, cancellationToken).ConfigureAwait(false);
        var now = timeProvider.GetUtcNow();
        return await writer.TryWriteAsync(machine, machine with { ResourcesDirty = false, Reason = "resized", LastProgressAt = now }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the runtime applies: the memory limit includes completed automatic increases.</summary>
    private static MachineResources Resources(MachineRecord machine) => new(machine.Vcpu, machine.MemoryConfiguredMib, machine.StorageGib);

    private Task StopForRebootAsync(string machineId, string mode, CancellationToken cancellationToken) =>
        runtime.StopAsync(machineId, mode == RebootModes.Force ? TimeSpan.Zero : options.RebootGrace, cancellationToken);

    private async Task<MachineRecord?> TransitionAsync(MachineRecord machine, string phase, string reason, CancellationToken cancellationToken, bool clearDirty = false)
    {
        var now = timeProvider.GetUtcNow();
        var next = machine with
        {
            Phase = phase,
            Reason = reason,
            Retryable = false,
            LastError = null,
            LastTransitionAt = now,
            LastProgressAt = now,
            ResourcesDirty = !clearDirty && machine.ResourcesDirty,
        };
        var written = await writer.TryWriteAndReturnAsync(machine, next, cancellationToken).ConfigureAwait(false);
        if (written is not null)
        {
            ServerLog.PhaseChanged(logger, machine.Id, machine.Phase, phase, written.Revision);
            machineMetrics.PhaseChanged(machine.Id, machine.Phase, phase);
            await sessions.MachineChangedAsync(written, cancellationToken).ConfigureAwait(false);
        }

        return written;
    }

    private async Task FailAsync(MachineRecord machine, Exception ex, CancellationToken cancellationToken)
    {
        ServerLog.RuntimeFailed(logger, machine.Id, machine.DesiredState, ex);
        metrics.Error(ReconcilerMetrics.RuntimeFailed);
        machineMetrics.WakeAbandoned(machine.Id);
        var message = ex is MachineRuntimeException ? ex.Message : "runtime error: " + ex.GetType().Name;
        var now = timeProvider.GetUtcNow();
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var next = machine with
            {
                Phase = MachinePhases.Failed,
                Reason = "runtime_error",
                Retryable = true,
                LastError = message,
                LastTransitionAt = now,
                LastProgressAt = now,
            };
            if (await writer.TryWriteAndReturnAsync(machine, next, cancellationToken).ConfigureAwait(false) is { } failed)
            {
                await sessions.MachineChangedAsync(failed, cancellationToken).ConfigureAwait(false);
                return;
            }

            machine = await store.GetMachineAsync(machine.Id, cancellationToken).ConfigureAwait(false) ?? machine;
        }
    }
}
