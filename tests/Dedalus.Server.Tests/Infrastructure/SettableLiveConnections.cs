using Dedalus.Gateway;
using Dedalus.Server.Gateway;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// Open gateway connections a test sets, in place of a node's gateway, for nodes that run the in-memory runtime (which
/// starts no sshd): what the publisher and the owner's reads see as the gateway's snapshot.
/// </summary>
public sealed class SettableLiveConnections : ILiveConnections
{
    private IReadOnlyList<GatewayConnectionSnapshot> _open = [];

    public void Set(params GatewayConnectionSnapshot[] open) => Volatile.Write(ref _open, open);

    public IReadOnlyList<GatewayConnectionSnapshot> Open(string? machineId = null) =>
        [.. Volatile.Read(ref _open).Where(c => machineId is null || c.MachineId == machineId)];
}
