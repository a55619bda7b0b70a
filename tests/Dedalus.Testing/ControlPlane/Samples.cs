using Dedalus.Contracts;

namespace Dedalus.Testing.ControlPlane;

/// <summary>Wire payloads for stubs.</summary>
public static class Samples
{
    public const string MachineId = "dm-0b9f6c1e-4a5d-4c3b-9e2f-1a2b3c4d5e6f";

    public static Machine Machine(string id = MachineId, string phase = MachinePhases.Running, string desired = DesiredStates.Running)
    {
        var now = DateTimeOffset.Parse("2026-11-28T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        return new Machine(id, 1, 1024, 10, 300, desired, phase, new LifecycleStatus(phase, "ok", false, "1", now, now), now);
    }

    public static SshSession Session(string status, long? retryAfterMs = null, SshConnection? connection = null, string? errorMessage = null) =>
        new(
            "ssh-1",
            MachineId,
            status,
            DateTimeOffset.UnixEpoch,
            status == SshSessionStatuses.Ready ? connection ?? Connection() : null,
            RetryAfterMs: retryAfterMs,
            ErrorCode: errorMessage is null ? null : ErrorCodes.MachineFailed,
            ErrorMessage: errorMessage);

    public static SshConnection Connection(string endpoint = "127.0.0.1", long port = 2222, string pattern = "[127.0.0.1]:*") =>
        new(endpoint, port, "machine", "ssh-ed25519-cert-v01@openssh.com AAAAtest", new SshHostTrust("cert_authority", pattern, "ssh-ed25519 AAAAhostca"));
}
