using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Hosting;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Sessions.Api;

/// <summary>
/// Maps stored sessions to the wire contract: the connection (gateway endpoint, port, certificate, host trust) once
/// ready. The port is the machine's as read now, so a session follows its machine when the machine moves to another port.
/// The host trust is the machine's own host CA: a host certificate of any other machine does not verify with it. The
/// endpoint and host pattern are those of the gateway of the node the machine is placed on.
/// </summary>
public sealed class SshSessionMapper(ServerOptions options, SshAuthority authority, LocalNode local, NodeDirectory nodes)
{
    /// <summary>The poll pace suggested to clients while a session waits for its machine to wake.</summary>
    public const long WakeRetryAfterMs = 500;

    /// <summary>The poll pace suggested while a session waits for its running machine's gateway port (retried every few seconds).</summary>
    public const long GatewayRetryAfterMs = 1000;

    public SshSession ToContract(SessionRecord s, MachineRecord machine)
    {
        var ready = s.Status == SshSessionStatuses.Ready;

        // The gateway of the machine's node: ours, or the one it registered.
        var gatewayHosts = !local.Owns(machine.NodeId) && nodes.Find(machine.NodeId) is { } node ? node.GatewayHosts : options.GatewayHost;
        return new SshSession(
            s.Id,
            MachineIds.Wire(s.MachineId),
            s.Status,
            s.CreatedAt,
            ready
                ? new SshConnection(
                    gatewayHosts[0],
                    machine.GatewayPort,
                    options.SshUsername,
                    s.Certificate,
                    new SshHostTrust("cert_authority", options.HostPatternFor(gatewayHosts), authority.MachineHostCaPublicKey(s.MachineId)))
                : null,
            s.ReadyAt,
            s.ExpiresAt,
            s.Status switch
            {
                SshSessionStatuses.WakeInProgress => WakeRetryAfterMs,
                SshSessionStatuses.SshInProgress => GatewayRetryAfterMs,
                _ => null,
            },
            s.ErrorCode,
            s.ErrorMessage);
    }
}
