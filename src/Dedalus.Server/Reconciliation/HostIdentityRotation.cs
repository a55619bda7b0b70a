using System.Collections.Concurrent;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Hosting;
using Dedalus.Server.Ssh;

namespace Dedalus.Server.Reconciliation;

/// <summary>
/// Keeps every machine's host identity fresh: a new host key and a certificate from the machine's own host CA
/// (<see cref="SshAuthority.IssueHostIdentity"/>), installed before every wake and renewed while the machine runs once
/// less than half of <see cref="ServerOptions.HostCertificateLifetime"/> is left. The <see cref="Reconciler"/> calls it
/// from the machine's worker, so an install never races a start, stop or delete of the same machine; the
/// <see cref="MaintenanceService"/> sweep asks <see cref="IsRenewalDue(string)"/> and kicks the machines that are due.
/// What each machine was last given is only remembered in memory: after a restart every running machine is due at
/// once, which is what a restart needs (the server cannot know what a certificate left on disk says).
/// </summary>
public sealed class HostIdentityRotation(
    SshAuthority authority,
    IMachineRuntime runtime,
    ServerOptions options,
    TimeProvider timeProvider,
    ILogger<HostIdentityRotation> logger)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _validBefore = new(StringComparer.Ordinal);

    /// <summary>Whether a certificate valid until <paramref name="validBefore"/> must be renewed at <paramref name="now"/>: less than half its lifetime left.</summary>
    public static bool IsRenewalDue(DateTimeOffset validBefore, TimeSpan lifetime, DateTimeOffset now) => validBefore - now < lifetime / 2;

    /// <summary>Whether the machine's identity must be renewed now: it was never installed by this process, or is past half-life.</summary>
    public bool IsRenewalDue(string machineId) =>
        !_validBefore.TryGetValue(machineId, out var validBefore) || IsRenewalDue(validBefore, options.HostCertificateLifetime, timeProvider.GetUtcNow());

    /// <summary>Issues a fresh host key and certificate for the machine and has the runtime install them; <paramref name="reason"/> (<c>wake</c>, <c>renewal</c>) is for the log.</summary>
    public async Task InstallAsync(string machineId, string reason, CancellationToken cancellationToken)
    {
        var identity = authority.IssueHostIdentity(machineId, timeProvider.GetUtcNow());
        await runtime.InstallHostIdentityAsync(machineId, identity.Material, cancellationToken).ConfigureAwait(false);
        _validBefore[machineId] = identity.ValidBefore;
        ServerLog.HostIdentityInstalled(logger, machineId, reason, identity.KeyId, identity.Serial, identity.ValidBefore);
    }

    /// <summary>Renews the identity of a running machine when it is due; a failure is logged and left to the next sweep.</summary>
    public async Task RenewIfDueAsync(string machineId, CancellationToken cancellationToken)
    {
        if (!IsRenewalDue(machineId))
        {
            return;
        }

        try
        {
            await InstallAsync(machineId, "renewal", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ServerLog.HostIdentityRenewalFailed(logger, machineId, _validBefore.TryGetValue(machineId, out var validBefore) ? validBefore : null, ex);
        }
    }

    /// <summary>The machine sleeps or is gone: nothing to renew until its next wake installs a new identity.</summary>
    public void Forget(string machineId) => _validBefore.TryRemove(machineId, out _);
}
