namespace Dedalus.Gateway;

/// <summary>Stable wire names of <see cref="GatewayConnectionEnd"/> for the audit store.</summary>
public static class GatewayConnectionEndExtensions
{
    /// <summary>The snake_case name stored in the audit (<c>client_closed</c>, <c>refused_machine_limit</c>, ...).</summary>
    public static string ToWireName(this GatewayConnectionEnd end) => end switch
    {
        GatewayConnectionEnd.ClientClosed => "client_closed",
        GatewayConnectionEnd.MachineClosed => "machine_closed",
        GatewayConnectionEnd.SessionClosed => "session_closed",
        GatewayConnectionEnd.GatewayClosed => "gateway_closed",
        GatewayConnectionEnd.RefusedUnknownMachine => "refused_unknown_machine",
        GatewayConnectionEnd.RefusedDeleted => "refused_deleted",
        GatewayConnectionEnd.RefusedSleeping => "refused_sleeping",
        GatewayConnectionEnd.RefusedMachineLimit => "refused_machine_limit",
        GatewayConnectionEnd.RefusedGatewayLimit => "refused_gateway_limit",
        GatewayConnectionEnd.Error => "error",
        GatewayConnectionEnd.RefusedNotSsh => "refused_not_ssh",
        GatewayConnectionEnd.RefusedSourceLimit => "refused_source_limit",
        GatewayConnectionEnd.RefusedPendingLimit => "refused_pending_limit",
        GatewayConnectionEnd.PendingEvicted => "pending_evicted",
        GatewayConnectionEnd.IdentificationTimeout => "identification_timeout",
        GatewayConnectionEnd.AuthenticationTimeout => "authentication_timeout",
        GatewayConnectionEnd.ProtocolViolation => "protocol_violation",
        _ => throw new ArgumentOutOfRangeException(nameof(end), end, null),
    };

    /// <summary>True for the refused_* outcomes (sshd never started).</summary>
    public static bool IsRefusal(this GatewayConnectionEnd end) => end is
        GatewayConnectionEnd.RefusedUnknownMachine or
        GatewayConnectionEnd.RefusedDeleted or
        GatewayConnectionEnd.RefusedSleeping or
        GatewayConnectionEnd.RefusedMachineLimit or
        GatewayConnectionEnd.RefusedGatewayLimit or
        GatewayConnectionEnd.RefusedNotSsh or
        GatewayConnectionEnd.RefusedSourceLimit or
        GatewayConnectionEnd.RefusedPendingLimit;
}
