using Dedalus.Gateway;

namespace Dedalus.Server.Gateway;

/// <summary>The connections this node's gateway has open right now (<see cref="SshGateway.GetConnections"/>); none without a gateway.</summary>
public interface ILiveConnections
{
    /// <summary>Open connections bridged to a machine's sshd, of <paramref name="machineId"/> or of every machine, oldest first; lock-free.</summary>
    IReadOnlyList<GatewayConnectionSnapshot> Open(string? machineId = null);
}
