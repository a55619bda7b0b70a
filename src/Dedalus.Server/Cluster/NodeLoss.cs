using Dedalus.Contracts;
using Dedalus.Server.Store;

namespace Dedalus.Server.Cluster;

/// <summary>
/// How a machine reads while its node is lost: phase <c>failed</c>, reason <c>node_lost</c>, retryable, and a
/// <c>last_error</c> that names the node and its last heartbeat. Nothing is written: the stored row keeps its phase
/// and desired state, so when the node is back it adopts the machine and drives it there, and the machine reads as
/// stored again. The revision (ETag) stays the stored one, so a conditional write still works meanwhile.
/// </summary>
public static class NodeLoss
{
    public const string Reason = "node_lost";

    public static MachineRecord AsSeen(this NodeDirectory nodes, MachineRecord machine) =>
        machine.Phase == MachinePhases.Destroyed || nodes.LostOwner(machine.NodeId) is not { } node
            ? machine
            : machine with
            {
                Phase = MachinePhases.Failed,
                Reason = Reason,
                Retryable = true,
                LastError = $"node {node.Name} ({node.Id}) has sent no heartbeat since {node.HeartbeatAt:O}; the machine returns to its desired state when the node is back",
            };
}
