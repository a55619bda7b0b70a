using Dedalus.Contracts;
using Dedalus.Server.Sessions;
using Dedalus.Server.Store;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>Store rows as the server writes them, for tests that put a state into the store directly.</summary>
public static class StoredRecords
{
    /// <summary>A 1 vCPU, 1 GiB machine of <paramref name="orgId"/> that wants to run, last changed at <paramref name="at"/>.</summary>
    public static MachineRecord Machine(string orgId, string phase, string reason, DateTimeOffset at) => new()
    {
        Id = MachineIds.Format(Guid.CreateVersion7(at)),
        OrgId = orgId,
        Vcpu = 1,
        MemoryMib = 1024,
        StorageGib = 10,
        AutosleepSeconds = 300,
        DesiredState = DesiredStates.Running,
        Phase = phase,
        Reason = reason,
        Revision = 1,
        CreatedAt = at,
        LastTransitionAt = at,
        LastProgressAt = at,
        LastActivityAt = at,
    };

    /// <summary>A session for <see cref="TestKeys.Ed25519"/> on <paramref name="machine"/>, expiring in an hour.</summary>
    public static SessionRecord Session(MachineRecord machine, string status) => new()
    {
        Id = SessionIds.New(),
        OrgId = machine.OrgId,
        MachineId = machine.Id,
        Status = status,
        PublicKey = TestKeys.Ed25519,
        Serial = SessionIds.NewSerial(),
        CreatedAt = DateTimeOffset.UtcNow,
        ExpiresAt = DateTimeOffset.UtcNow + TimeSpan.FromHours(1),
    };
}
