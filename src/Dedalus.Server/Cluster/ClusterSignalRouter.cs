using Dedalus.Server.Executions;
using Dedalus.Server.Gateway;
using Dedalus.Server.Machines;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Cluster;

/// <summary>
/// Acts on the other nodes' signals here: a machine of ours that changed is reconciled, and any machine's watchers
/// (status stream, a session's wake hold) re-read it; a closed session is revoked in our KRL and its connections
/// through our gateway are cut; an execution's followers re-read it, and an execution of our machine created or
/// cancelled elsewhere is claimed or cancelled here. After a missed stretch (<see cref="ClusterSignalKind.Resync"/>)
/// every machine of ours is reconciled, the trust republished and the executions handed to us caught up on.
/// </summary>
public sealed class ClusterSignalRouter(
    IClusterBus bus,
    LocalNode local,
    IStore store,
    MachineChangeFeed machineFeed,
    MachineWorkQueue queue,
    SshTrustPublisher trust,
    ISessionConnections connections,
    ExecutionChangeFeed executionFeed,
    ExecutionSupervisor executions,
    ILogger<ClusterSignalRouter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var signal in bus.ReceiveAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await HandleAsync(signal, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    ServerLog.ClusterSignalFailed(logger, signal.Format(), ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task HandleAsync(ClusterSignal signal, CancellationToken cancellationToken)
    {
        switch (signal.Kind)
        {
            case ClusterSignalKind.Machine:
                machineFeed.Publish(signal.Id);
                if (local.Owns(signal.NodeId))
                {
                    queue.Kick(signal.Id);
                }

                break;
            case ClusterSignalKind.SessionClosed:
                // The KRL first (new logins refused), then the connections: the order of SessionLifecycle.CloseAsync.
                await trust.PublishAsync(cancellationToken).ConfigureAwait(false);
                await connections.CloseSessionConnectionsAsync(signal.Id, cancellationToken).ConfigureAwait(false);
                break;
            case ClusterSignalKind.Execution:
                executionFeed.Publish(signal.Id);
                if (local.Owns(signal.NodeId))
                {
                    await executions.OnSignalAsync(signal.Id, cancellationToken).ConfigureAwait(false);
                }

                break;
            case ClusterSignalKind.Resync:
                await trust.PublishAsync(cancellationToken).ConfigureAwait(false);
                foreach (var machine in await store.ListLiveMachinesAsync(cancellationToken).ConfigureAwait(false))
                {
                    machineFeed.Publish(machine.Id);
                    if (local.Owns(machine.NodeId))
                    {
                        queue.Kick(machine.Id);
                    }
                }

                await executions.CatchUpAsync(cancellationToken).ConfigureAwait(false);
                break;
        }
    }
}
