namespace Dedalus.Machines.Runtime;

/// <summary>CPU, memory and storage limits of a machine.</summary>
public sealed record MachineResources(double Vcpu, long MemoryMib, long StorageGib);

/// <summary>Everything needed to provision a machine.</summary>
/// <param name="MachineId">Id; also the hostname inside.</param>
/// <param name="Resources">Limits.</param>
/// <param name="Ssh">OpenSSH material for the machine's sshd.</param>
public sealed record MachineSpec(string MachineId, MachineResources Resources, MachineSshMaterial Ssh);

/// <summary>
/// The per-machine OpenSSH material the runtime installs read-only inside the machine.
/// User CA keys and the KRL are host-wide and live in the runtime's SSH trust directory.
/// </summary>
/// <param name="HostPrivateKey">The machine's host key as an OpenSSH private key file (text).</param>
/// <param name="HostCertificate">The host certificate line (<c>*-cert.pub</c>) signed by the host CA.</param>
public sealed record MachineSshMaterial(string HostPrivateKey, string HostCertificate);

/// <summary>Observed state of a machine in the engine.</summary>
public enum MachineRuntimeState
{
    /// <summary>The runtime holds no such machine.</summary>
    Missing,
    /// <summary>Provisioned, no processes.</summary>
    Sleeping,
    /// <summary>Running.</summary>
    Running,
    /// <summary>The engine reports something unexpected (for example a half-started container).</summary>
    Broken,
}

/// <summary>A process to start inside a machine.</summary>
/// <param name="Arguments">argv; no shell.</param>
/// <param name="User">User to run as (<c>root</c> by default).</param>
public sealed record MachineExecRequest(IReadOnlyList<string> Arguments, string User = "root");

/// <summary>A process running inside a machine, with its standard streams.</summary>
public interface IMachineProcess : IAsyncDisposable
{
    /// <summary>Write side of the process's stdin; dispose to close it.</summary>
    Stream StandardInput { get; }

    /// <summary>The process's stdout.</summary>
    Stream StandardOutput { get; }

    /// <summary>The process's stderr.</summary>
    Stream StandardError { get; }

    /// <summary>Completes with the exit code when the process ends.</summary>
    Task<int> Exited { get; }

    /// <summary>Kills the process (and what it started) at once.</summary>
    void Kill();
}

/// <summary>Host-wide SSH trust: user CA public keys (one authorized_keys-style line each) and a KRL.</summary>
/// <param name="UserCaPublicKeys">Lines for <c>TrustedUserCAKeys</c>.</param>
/// <param name="RevokedKeys">An OpenSSH KRL for <c>RevokedKeys</c> (may be empty: nothing revoked).</param>
public sealed record MachineSshTrust(IReadOnlyList<string> UserCaPublicKeys, ReadOnlyMemory<byte> RevokedKeys);
