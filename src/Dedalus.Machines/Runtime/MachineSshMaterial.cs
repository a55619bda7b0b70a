namespace Dedalus.Machines.Runtime;

/// <summary>
/// The per-machine OpenSSH material the runtime installs read-only inside the machine: at creation, and replaced by
/// <see cref="IMachineRuntime.InstallHostIdentityAsync"/> before every wake and while the machine runs.
/// User CA keys and the KRL are host-wide and live in the runtime's SSH trust directory.
/// </summary>
/// <param name="HostPrivateKey">The machine's host key as an OpenSSH private key file (text).</param>
/// <param name="HostCertificate">The host certificate line (<c>*-cert.pub</c>) signed by the machine's own host CA.</param>
public sealed record MachineSshMaterial(string HostPrivateKey, string HostCertificate);
