namespace Dedalus.Server.Store;

/// <summary>A stored machine status event (SSE): a monotonically increasing sequence and the machine JSON.</summary>
public sealed record MachineEvent(long Sequence, string MachineId, long Revision, string Payload);
