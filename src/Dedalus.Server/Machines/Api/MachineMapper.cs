using System.Globalization;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Store;

namespace Dedalus.Server.Machines.Api;

/// <summary>Maps stored machines to the wire contract; their status events carry the same JSON.</summary>
public static class MachineMapper
{
    /// <summary>The status reason of a live machine whose gateway port another process holds (its <c>last_error</c> says which port and what next).</summary>
    public const string GatewayPortUnavailable = "gateway_port_unavailable";

    public static Machine ToContract(MachineRecord m) => new(
        MachineIds.Wire(m.Id),
        m.Vcpu,
        m.MemoryMib,
        m.StorageGib,
        m.AutosleepSeconds,
        m.DesiredState,
        m.Phase,
        Status(m),
        m.CreatedAt,
        m.Name,
        m.NetworkAddress is null && m.NetworkPolicy is null
            ? null
            : Networking.NetworkPolicies.ToWire(Networking.NetworkPolicies.FromStored(m.NetworkPolicy), m.NetworkAddress));

    /// <summary>
    /// The machine's lifecycle status. A gateway port the gateway cannot listen on comes first while the machine is
    /// otherwise alive (nobody can reach it): a failed machine shows its failure, a machine being destroyed its end.
    /// </summary>
    public static LifecycleStatus Status(MachineRecord m)
    {
        var status = m.IsGatewayPortUnavailable
            ? new LifecycleStatus(m.Phase, GatewayPortUnavailable, true, Revision(m), m.LastTransitionAt, m.LastProgressAt, m.GatewayPortError)
            : new LifecycleStatus(m.Phase, m.Reason, m.Retryable, Revision(m), m.LastTransitionAt, m.LastProgressAt, m.LastError);

        // Configured: memory_mib plus completed automatic increases. Assigned: what the running machine has, known once
        // the runtime applied the configured limit (at start, resize or increase); absent while not running.
        return status with
        {
            MemoryConfiguredMib = m.MemoryConfiguredMib,
            MemoryAssignedMib = m.Phase == MachinePhases.Running && !m.ResourcesDirty ? m.MemoryConfiguredMib : null,
            MemoryTargetMib = m.MemoryConfiguredMib,
            MemoryResizeState = m.MemoryResizeState ?? MemoryResizeStates.Stable,
            MemoryLastAutoresizedAt = m.MemoryLastAutoresizedAt,
        };
    }

    public static string Revision(MachineRecord m) => m.Revision.ToString(CultureInfo.InvariantCulture);

    /// <summary>The ETag of a machine: its revision, quoted.</summary>
    public static string ETag(MachineRecord m) => "\"" + Revision(m) + "\"";

    public static string ToJson(MachineRecord m) => JsonSerializer.Serialize(ToContract(m), DedalusJsonContext.Default.Machine);
}
