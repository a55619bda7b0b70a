namespace Dedalus.Machines.Runtime;

/// <summary>
/// Runs machines on one host. The control plane's reconciler drives it; the gateway reaches a machine's sshd
/// through <see cref="ISshServerConnector"/> (for runc: <c>sshd -i</c> started with <see cref="ExecAsync"/>).
/// Engines: runc today; KVM microVMs or Kubernetes pods can implement the same contract.
/// Every operation is idempotent: repeating it on a machine already in the target state succeeds.
/// </summary>
public interface IMachineRuntime
{
    /// <summary>Provisions a machine (storage, configuration) and leaves it asleep.</summary>
    Task CreateAsync(MachineSpec spec, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces a provisioned machine's host key and host certificate, running or not; the next sshd the machine starts
    /// serves them (connections already open keep theirs). The control plane calls it before every start, with a fresh
    /// key and a short-lived certificate, and again while the machine runs, before the certificate expires.
    /// </summary>
    /// <exception cref="MachineNotFoundException">The machine is not provisioned (or was deleted).</exception>
    Task InstallHostIdentityAsync(string machineId, MachineSshMaterial material, CancellationToken cancellationToken = default);

    /// <summary>Starts (wakes) a machine: fresh root file system, persistent home, no sshd listening.</summary>
    Task StartAsync(string machineId, CancellationToken cancellationToken = default);

    /// <summary>Puts a machine to sleep: every process gone, zero CPU, storage kept. Processes are killed at once (no grace).</summary>
    Task StopAsync(string machineId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Puts a machine to sleep after letting its processes exit: SIGTERM to each of them, a wait of up to
    /// <paramref name="gracePeriod"/> until they are gone, then what <see cref="StopAsync(string, CancellationToken)"/>
    /// does (the rest killed). A zero grace is <see cref="StopAsync(string, CancellationToken)"/>. Executions are ended
    /// as by that one (killed, not sent SIGTERM). An engine without a graceful stop stops at once.
    /// </summary>
    /// <exception cref="MachineNotFoundException">The machine is not provisioned.</exception>
    Task StopAsync(string machineId, TimeSpan gracePeriod, CancellationToken cancellationToken = default) =>
        StopAsync(machineId, cancellationToken);

    /// <summary>Destroys a machine and its storage.</summary>
    Task DeleteAsync(string machineId, CancellationToken cancellationToken = default);

    /// <summary>Changes limits; storage only grows. Applied live when running.</summary>
    Task ResizeAsync(string machineId, MachineResources resources, CancellationToken cancellationToken = default);

    /// <summary>
    /// The memory of a running machine as its cgroup reports it now: the limit applied, the usage, whether processes are
    /// held at the limit, the OOM kills so far. Cheap (a few cgroup files, no process): made to be polled.
    /// </summary>
    /// <exception cref="MachineNotFoundException">The machine is not provisioned.</exception>
    /// <exception cref="MachineNotRunningException">The machine is not running.</exception>
    /// <exception cref="NotSupportedException">The engine has no memory autoresizing.</exception>
    Task<MachineMemoryState> ReadMemoryAsync(string machineId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("this machine runtime does not report memory");

    /// <summary>
    /// Sets a machine's memory limit and whether it holds or OOM-kills at it: applied live when the machine runs (a
    /// raised limit releases held processes), and kept, like <see cref="ResizeAsync"/>'s limits, for every later start.
    /// A later <see cref="ResizeAsync"/> sets the limit to its own memory and keeps the hold mode.
    /// </summary>
    /// <exception cref="MachineNotFoundException">The machine is not provisioned.</exception>
    /// <exception cref="MachineRuntimeException">The limit cannot be applied (lowered below what the machine uses and cannot give back).</exception>
    /// <exception cref="NotSupportedException">The engine has no memory autoresizing.</exception>
    Task SetMemoryAsync(string machineId, MachineMemoryPolicy policy, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("this machine runtime does not set memory policies");

    /// <summary>
    /// Sets a machine's network (its address and egress policy), running or not: kept for every later start, and applied
    /// within a second to a running machine without restarting it. A machine never configured has loopback only.
    /// </summary>
    /// <exception cref="MachineNotFoundException">The machine is not provisioned.</exception>
    /// <exception cref="NotSupportedException">The engine has no machine networking (or it is off).</exception>
    Task ConfigureNetworkAsync(string machineId, MachineNetwork network, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("this machine runtime has no machine networking");

    /// <summary>What the engine observes of one machine.</summary>
    Task<MachineRuntimeState> GetStateAsync(string machineId, CancellationToken cancellationToken = default);

    /// <summary>Ids of every machine this runtime holds (for repair after a restart).</summary>
    Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Installs the host-wide SSH trust every machine's sshd reads: the user CA public keys
    /// (<c>TrustedUserCAKeys</c>, several during a rotation) and the revocation list (<c>RevokedKeys</c>, a KRL).
    /// Takes effect for the next connection to any machine, running or not.
    /// </summary>
    Task WriteSshTrustAsync(MachineSshTrust trust, CancellationToken cancellationToken = default);

    /// <summary>Starts a process inside a running machine with piped stdin, stdout and stderr.</summary>
    Task<IMachineProcess> ExecAsync(string machineId, MachineExecRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts a command inside a running machine as an execution: its own process group (a cgroup below the machine's),
    /// entered before the command runs, so every process it starts is in it; its exact exit status.
    /// </summary>
    /// <exception cref="MachineNotFoundException">The machine is not provisioned.</exception>
    /// <exception cref="MachineNotRunningException">The machine is not running.</exception>
    /// <exception cref="MachineRuntimeException">The command could not start (a missing working directory, for example); the message says why.</exception>
    Task<IMachineExecution> StartExecutionAsync(string machineId, MachineExecutionRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends whatever is left of the execution <paramref name="name"/> (killed, its group removed), also one a previous
    /// server process started. No-op when nothing is left or the machine is gone.
    /// </summary>
    Task EndExecutionAsync(string machineId, string name, CancellationToken cancellationToken = default);
}
