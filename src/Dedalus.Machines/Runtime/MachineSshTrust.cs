namespace Dedalus.Machines.Runtime;

/// <summary>Host-wide SSH trust: user CA public keys (one authorized_keys-style line each) and a KRL.</summary>
/// <param name="UserCaPublicKeys">Lines for <c>TrustedUserCAKeys</c>.</param>
/// <param name="RevokedKeys">An OpenSSH KRL for <c>RevokedKeys</c> (may be empty: nothing revoked).</param>
public sealed record MachineSshTrust(IReadOnlyList<string> UserCaPublicKeys, ReadOnlyMemory<byte> RevokedKeys);
