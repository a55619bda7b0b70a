using Dedalus.Contracts;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// Responses carry a machine's id as a bare uuid; the store, the runtime and the CAs key machines by the server's own
/// form, <c>dm-&lt;uuid&gt;</c>. Tests that look behind the API convert with these.
/// </summary>
public static class StoreIds
{
    public static string StoreId(this Machine machine) => StoreId(machine.MachineId);

    public static string StoreId(string machineId) => MachineIds.TryParse(machineId, out var canonical) ? canonical : machineId;
}
