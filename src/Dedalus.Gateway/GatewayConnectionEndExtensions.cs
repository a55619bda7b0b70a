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
        _ => throw new ArgumentOutOfRangeException(nameof(end), end, null),
    };

    /// <summary>True for the refused_* outcomes (sshd never started).</summary>
    public static bool IsRefusal(this GatewayConnectionEnd end) =>
        end is >= GatewayConnectionEnd.RefusedUnknownMachine and <= GatewayConnectionEnd.RefusedGatewayLimit;
}
