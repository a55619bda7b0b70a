using System.Globalization;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Store;

namespace Dedalus.Server.Machines.Api;

/// <summary>Maps stored machines to the wire contract; their status events carry the same JSON.</summary>
public static class MachineMapper
{
    public static Machine ToContract(MachineRecord m) => new(
        m.Id,
        m.Vcpu,
        m.MemoryMib,
        m.StorageGib,
        m.AutosleepSeconds,
        m.DesiredState,
        m.Phase,
        new LifecycleStatus(m.Phase, m.Reason, m.Retryable, Revision(m), m.LastTransitionAt, m.LastProgressAt, m.LastError),
        m.CreatedAt);

    public static string Revision(MachineRecord m) => m.Revision.ToString(CultureInfo.InvariantCulture);

    /// <summary>The ETag of a machine: its revision, quoted.</summary>
    public static string ETag(MachineRecord m) => "\"" + Revision(m) + "\"";

    public static string ToJson(MachineRecord m) => JsonSerializer.Serialize(ToContract(m), DedalusJsonContext.Default.Machine);
}
