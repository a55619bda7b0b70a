using Dedalus.Machines.Runtime;

namespace Dedalus.Server.Ssh;

/// <summary>One issue of a machine's host identity: a fresh host key and its short-lived certificate.</summary>
/// <param name="Material">The key and certificate files the runtime installs.</param>
/// <param name="KeyId">The certificate's key id: random, so that it tells a client nothing; logged with the machine id.</param>
/// <param name="Serial">The certificate's serial (random).</param>
/// <param name="ValidAfter">Start of validity (back-dated for clock skew).</param>
/// <param name="ValidBefore">End of validity: the identity must be renewed before it.</param>
public sealed record MachineHostIdentity(MachineSshMaterial Material, string KeyId, ulong Serial, DateTimeOffset ValidAfter, DateTimeOffset ValidBefore);
