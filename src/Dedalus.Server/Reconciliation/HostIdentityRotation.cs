using System.Collections.Concurrent;
using Dedalus.Machines.Runtime;
using Dedalus.OpenSsh;
using Dedalus.Server.Hosting;
using Dedalus.Server.Ssh;

namespace Dedalus.Server.Reconciliation;

/// <summary>
/// Keeps every machine's host identity fresh: a new host key and a certificate from the machine's own host CA
/// (<see cref="CaKeys.IssueHostIdentity"/>), installed before every wake and renewed while the machine runs once
/// less than half of <see cref="ServerOptions.HostCertificateLifetime"/> is left, or at once when a host CA rotation
/// replaced the master its certificate came from. The <see cref="Reconciler"/> calls it from the machine's worker, so
/// an install never races a start, stop or delete of the same machine; the <see cref="MaintenanceService"/> sweep asks
/// <see cref="IsRenewalDue(string)"/> and kicks the machines that are due, and a session of a running machine waits for
/// it (<see cref="WaitCurrentAsync"/>) so that its <c>host_trust</c> verifies what the machine presents. What each
/// machine was last given is only remembered in memory: after a restart every running machine is due at once, which is
/// what a restart needs (the server cannot know what a certificate left on disk says).
/// </summary>
public sealed class HostIdentityRotation(
    SshAuthority authority,
    IMachineRuntime runtime,
    MachineWorkQueue queue,
    ServerOptions options,
    TimeProvider timeProvider,
    ILogger<HostIdentityRotation> logger)
{
    /// <summary>Longest a session's answer waits for its running machine's new host identity (an install takes milliseconds).</summary>
    public static readonly TimeSpan CurrentIdentityHold = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Installed> _installed = new(StringComparer.Ordinal);

    /// <summary>Machines whose last renewal failed, with the master it was tried under: a session does not wait for those (the sweep retries).</summary>
    private readonly ConcurrentDictionary<string, SshPublicKey> _failed = new(StringComparer.Ordinal);
    private readonly Lock _signalLock = new();
    private TaskCompletionSource _installedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether a certificate valid until <paramref name="validBefore"/> must be renewed at <paramref name="now"/>: less than half its lifetime left.</summary>
    public static bool IsRenewalDue(DateTimeOffset validBefore, TimeSpan lifetime, DateTimeOffset now) => validBefore - now < lifetime / 2;

    /// <summary>
    /// Whether the machine's identity must be renewed now: it was never installed by this process, is past half-life, or
    /// came from a master host key that a rotation has replaced since.
    /// </summary>
    public bool IsRenewalDue(string machineId) =>
        !_installed.TryGetValue(machineId, out var installed)
        || IsRenewalDue(installed.ValidBefore, options.HostCertificateLifetime, timeProvider.GetUtcNow())
        || !installed.Master.Equals(authority.Current.HostMaster);

    /// <summary>Whether this process installed the machine's identity from the current master host key.</summary>
    public bool IsCurrent(string machineId) =>
        _installed.TryGetValue(machineId, out var installed) && installed.Master.Equals(authority.Current.HostMaster);

    /// <summary>Issues a fresh host key and certificate for the machine and has the runtime install them; <paramref name="reason"/> (<c>wake</c>, <c>renewal</c>) is for the log.</summary>
    public async Task InstallAsync(string machineId, string reason, CancellationToken cancellationToken)
    {
        var keys = authority.Current;
        var identity = keys.IssueHostIdentity(machineId, timeProvider.GetUtcNow());
        await runtime.InstallHostIdentityAsync(machineId, identity.Material, cancellationToken).ConfigureAwait(false);
        _installed[machineId] = new Installed(identity.ValidBefore, keys.HostMaster);
        _failed.TryRemove(machineId, out _);
        ServerLog.HostIdentityInstalled(logger, machineId, reason, identity.KeyId, identity.Serial, identity.ValidBefore);
        Signal();
    }

    /// <summary>Renews the identity of a running machine when it is due; a failure is logged and left to the next sweep.</summary>
    public async Task RenewIfDueAsync(string machineId, CancellationToken cancellationToken)
    {
        if (!IsRenewalDue(machineId))
        {
            return;
        }

        var reason = _installed.TryGetValue(machineId, out var installed) && !installed.Master.Equals(authority.Current.HostMaster)
            ? "host CA rotation"
            : "renewal";
        try
        {
            await InstallAsync(machineId, reason, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _failed[machineId] = authority.Current.HostMaster;
            ServerLog.HostIdentityRenewalFailed(logger, machineId, _installed.TryGetValue(machineId, out var current) ? current.ValidBefore : null, ex);
            Signal();
        }
    }

    /// <summary>
    /// For a session of a running machine: waits until the machine presents a host certificate from the current master
    /// (after a host CA rotation, or a restart that has not renewed it yet), asking the reconciler for the pass that
    /// installs it; at most <see cref="CurrentIdentityHold"/> (then the answer goes as it is, and a client that fails
    /// the host check tries again). Returns at once when the identity is current, which is the usual case, and when the
    /// last renewal under the current master failed (logged; the sweep tries again): no session waits on a failing one.
    /// </summary>
    public async Task WaitCurrentAsync(string machineId, CancellationToken cancellationToken)
    {
        if (IsCurrentOrFailing(machineId))
        {
            return;
        }

        // Real work (a runtime install) is waited for, so the bound is on the wall clock, not the injected one.
        var deadline = TimeProvider.System.GetUtcNow() + CurrentIdentityHold;
        queue.Kick(machineId);
        while (true)
        {
            Task installed;
            lock (_signalLock)
            {
                installed = _installedSignal.Task;
            }

            // The signal is taken before the check: an install between the two is not missed.
            var left = deadline - TimeProvider.System.GetUtcNow();
            if (IsCurrentOrFailing(machineId) || left <= TimeSpan.Zero)
            {
                return;
            }

            try
            {
                await installed.WaitAsync(left, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                ServerLog.HostIdentityNotCurrent(logger, machineId, CurrentIdentityHold);
                return;
            }
        }
    }

    /// <summary>The machine sleeps or is gone: nothing to renew until its next wake installs a new identity.</summary>
    public void Forget(string machineId)
    {
        _installed.TryRemove(machineId, out _);
        _failed.TryRemove(machineId, out _);
    }

    private bool IsCurrentOrFailing(string machineId) =>
        IsCurrent(machineId) || (_failed.TryGetValue(machineId, out var master) && master.Equals(authority.Current.HostMaster));

    /// <summary>Wakes every <see cref="WaitCurrentAsync"/> to look again.</summary>
    private void Signal()
    {
        TaskCompletionSource signal;
        lock (_signalLock)
        {
            signal = _installedSignal;
            _installedSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
    }

    /// <summary>What the machine was given: the end of its certificate and the master host key its CA came from.</summary>
    private sealed record Installed(DateTimeOffset ValidBefore, SshPublicKey Master);
}
