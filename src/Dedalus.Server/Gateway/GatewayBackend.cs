using Dedalus.Contracts;
using Dedalus.Gateway;
using Dedalus.Server.Connections;
using Dedalus.Server.Machines;
using Dedalus.Server.Store;

namespace Dedalus.Server.Gateway;

/// <summary>
/// The control plane's side of the gateway: admission and wake, activity, and the connection audit.
/// </summary>
public sealed class GatewayBackend(
    IStore store,
    MachineService machines,
    MachineChangeFeed feed,
    MachineActivity activity,
    LiveConnectionLedger ledger,
    StoreOutageLog outage,
    TimeProvider timeProvider) : IGatewayBackend
{
    public async ValueTask<GatewayAdmission> AdmitAsync(string machineId, CancellationToken cancellationToken)
    {
        var machine = await store.GetMachineAsync(machineId, cancellationToken).ConfigureAwait(false);
        if (machine is null)
        {
            return GatewayAdmission.Unknown;
        }

        if (machine.DesiredState == DesiredStates.Destroyed || machine.Phase is MachinePhases.Destroying or MachinePhases.Destroyed)
        {
            return GatewayAdmission.Deleted;
        }

        if (machine.Phase == MachinePhases.Running && machine.DesiredState == DesiredStates.Running)
        {
            return GatewayAdmission.Running;
        }

        return await store.HasLiveSessionAsync(machineId, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false)
            ? GatewayAdmission.SleepingWithLiveSession
            : GatewayAdmission.SleepingWithoutLiveSession;
    }

    public async ValueTask WakeAsync(string machineId, CancellationToken cancellationToken)
    {
        var machine = await store.GetMachineAsync(machineId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"machine {machineId} is gone");
        activity.Report(machineId);
        await machines.RequestWakeAsync(machine, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var changed = feed.NextChangeAsync(machineId, cancellationToken);
            machine = await store.GetMachineAsync(machineId, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"machine {machineId} is gone");
            if (machine.Phase == MachinePhases.Running && machine.DesiredState == DesiredStates.Running)
            {
                return;
            }

            if (machine.Phase == MachinePhases.Failed || machine.DesiredState == DesiredStates.Destroyed)
            {
                throw new InvalidOperationException($"machine {machineId} could not be woken: {machine.Phase}");
            }

            await changed.ConfigureAwait(false);
        }
    }

    public async ValueTask RecordConnectionAsync(GatewayConnectionRecord record, CancellationToken cancellationToken)
    {
        activity.Report(record.MachineId);
        try
        {
            // Through the ledger: the audit row and the end of the connection's live row, in one transaction.
            await ledger.RecordEndedAsync(
                new ConnectionAudit(
                    record.MachineId,
                    record.SessionId,
                    record.Serial,
                    record.PeerAddress,
                    record.StartedAt,
                    record.EndedAt,
                    record.BytesFromClient,
                    record.BytesToClient,
                    record.End.ToWireName(),
                    record.Detail),
                record.ConnectionId,
                cancellationToken).ConfigureAwait(false);
        }
        catch (StoreUnavailableException ex)
        {
            // The connection is over either way; its audit row is lost with the outage, the gateway goes on.
            outage.Report("gateway connection audit", ex);
        }
    }

    public void ReportActivity(string machineId) => activity.Report(machineId);
}
