namespace Dedalus.Machines.Runtime;

/// <summary>
/// The per-machine OpenSSH material the runtime installs read-only inside the machine.
/// User CA keys and the KRL are host-wide and live in the runtime's SSH trust directory.
/// </summary>
/// <param name="HostPrivateKey">The machine's host key as an OpenSSH private key file (text).</param>
/// <param name="HostCertificate">The host certificate line (<c>*-cert.pub</c>) signed by the host CA.</param>
public sealed record MachineSshMaterial(string HostPrivateKey, string HostCertificate);
