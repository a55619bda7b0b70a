using Dedalus.Contracts;
using Dedalus.Server.Gateway;
using Dedalus.Server.Store;

namespace Dedalus.Server.Reconciliation;

public sealed partial class Reconciler
{
    /// <summary>The machine's status reason right after it moved to another gateway port (shown until its next transition).</summary>
    public const string GatewayPortMovedReason = "gateway_port_moved";

    private const int MaxPortWriteAttempts = 8;

    private enum MoveOutcome
    {
        Moved,
        NoneFree,
        Lost,
    }

    /// <summary>
    /// Makes sure the gateway listens on the machine's port; every pass starts with it (idempotent, and cheap when it
    /// listens). A port that cannot be bound shows in the machine's status (sessions wait <c>ssh_in_progress</c>) and is
    /// tried again after a back-off; once the attempts are spent (at once when no client can know the port yet) the
    /// machine moves to a free port of the range, and its sessions follow because they read the machine's port. A port
    /// never throws here, so the repair of the other machines goes on. True when the machine was written.
    /// </summary>
    private async Task<bool> EnsureListeningAsync(MachineRecord machine, CancellationToken cancellationToken)
    {
        var result = await ports.OpenAsync(machine.Id, machine.GatewayPort, cancellationToken).ConfigureAwait(false);
        if (machine.Phase == MachinePhases.Failed)
        {
            // Nothing drives a failed machine any more: its listener as before, but no status to keep and no move.
            return false;
        }

        if (result == PortOpenResult.Listening)
        {
            var failures = portRecovery.Succeeded(machine.Id);
            if (failures > 0 || machine.GatewayPortError is not null)
            {
                ServerLog.GatewayPortListening(logger, machine.Id, machine.GatewayPort, failures);
            }

            if (machine.GatewayPortError is null)
            {
                return false;
            }

            var cleared = await WritePortAsync(
                machine,
                m => m.GatewayPort == machine.GatewayPort && m.GatewayPortError is not null ? m with { GatewayPortError = null } : null,
                cancellationToken).ConfigureAwait(false);
            return cleared is not null;
        }

        if (portRecovery.Failed(machine.Id, result, clientsMayKnowPort: machine.Phase != MachinePhases.Accepted) is not { } decision)
        {
            return false; // a pass before the scheduled attempt: that attempt is still to come
        }

        var moveFailed = false;
        if (decision.Move)
        {
            switch (await TryMoveAsync(machine, result, cancellationToken).ConfigureAwait(false))
            {
                case MoveOutcome.Moved:
                    return true;
                case MoveOutcome.Lost:
                    return false; // another writer came first; the next attempt looks again
                default:
                    moveFailed = true;
                    ServerLog.GatewayPortNoneFree(logger, machine.Id, machine.GatewayPort, options.GatewayPorts.ToString(), decision.RetryIn);
                    break;
            }
        }
        else
        {
            ServerLog.GatewayPortUnavailable(logger, machine.Id, machine.GatewayPort, result, decision.Failures, decision.RetryIn);
        }

        var error = PortProblem(machine.GatewayPort, result) + (moveFailed ? $", and no other port of {options.GatewayPorts} is free; retrying" : "; retrying");
        var written = await WritePortAsync(
            machine,
            m => m.GatewayPort == machine.GatewayPort && m.GatewayPortError != error ? m with { GatewayPortError = error } : null,
            cancellationToken).ConfigureAwait(false);
        return written is not null;
    }

    /// <summary>
    /// Moves the machine to the lowest port of the range that no other live machine has and that the gateway can bind
    /// now. The gateway listens before the store names the port, so the API never hands out a port that is not ours.
    /// </summary>
    private async Task<MoveOutcome> TryMoveAsync(MachineRecord machine, PortOpenResult result, CancellationToken cancellationToken)
    {
        var taken = new HashSet<int>();
        foreach (var other in await store.ListLiveMachinesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (other.Id != machine.Id && other.NodeId == machine.NodeId)
            {
                taken.Add(other.GatewayPort);
            }
        }

        var range = options.GatewayPorts;
        for (var port = range.Low; port <= range.High; port++)
        {
            if (port == machine.GatewayPort || taken.Contains(port)
                || await ports.OpenAsync(machine.Id, port, cancellationToken).ConfigureAwait(false) != PortOpenResult.Listening)
            {
                continue;
            }

            var note = $"{PortProblem(machine.GatewayPort, result)}; moved to port {port}";
            var candidate = port;
            var moved = await WritePortAsync(
                machine,
                m => m.GatewayPort == machine.GatewayPort
                    ? m with
                    {
                        GatewayPort = candidate,
                        GatewayPortError = null,
                        Reason = m.IsConverged ? GatewayPortMovedReason : m.Reason,
                        LastError = note,
                    }
                    : null,
                cancellationToken).ConfigureAwait(false);
            if (moved is null)
            {
                // A new machine took the port meanwhile, or the machine changed under us: let go of it.
                await ports.CloseAsync(machine.Id, cancellationToken).ConfigureAwait(false);
                return MoveOutcome.Lost;
            }

            portRecovery.Succeeded(machine.Id);
            ServerLog.GatewayPortMoved(logger, machine.Id, machine.GatewayPort, candidate, result, moved.Revision);
            return MoveOutcome.Moved;
        }

        return MoveOutcome.NoneFree;
    }

    /// <summary>
    /// Writes <paramref name="change"/> of the machine (null: nothing to write) with compare-and-swap, re-reading after
    /// a lost race, then tells the sessions. Null when nothing was written: no change, or the store refused the new port
    /// (another live machine has it).
    /// </summary>
    private async Task<MachineRecord?> WritePortAsync(MachineRecord machine, Func<MachineRecord, MachineRecord?> change, CancellationToken cancellationToken)
    {
        var current = machine;
        for (var attempt = 0; attempt < MaxPortWriteAttempts; attempt++)
        {
            if (change(current) is not { } next)
            {
                return null;
            }

            var written = await writer.TryWriteAndReturnAsync(current, next with { LastProgressAt = timeProvider.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
            if (written is not null)
            {
                await sessions.MachineChangedAsync(written, cancellationToken).ConfigureAwait(false);
                return written;
            }

            var reread = await store.GetMachineAsync(machine.Id, cancellationToken).ConfigureAwait(false);
            if (reread is null || reread.Revision == current.Revision || reread.DesiredState == DesiredStates.Destroyed)
            {
                // Same revision: the write was refused for its port, not lost to another writer.
                return null;
            }

            current = reread;
        }

        return null;
    }

    private string PortProblem(int port, PortOpenResult result) => result switch
    {
        PortOpenResult.InUse => $"gateway port {port} is held by another process",
        PortOpenResult.OutsideRange => $"gateway port {port} is outside the gateway range {options.GatewayPorts}",
        _ => $"gateway port {port} cannot be bound on {options.GatewayBind}",
    };
}
