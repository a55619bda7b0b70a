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

    /// <summary>Puts a machine to sleep: every process gone, zero CPU, storage kept.</summary>
    Task StopAsync(string machineId, CancellationToken cancellationToken = default);

    /// <summary>Destroys a machine and its storage.</summary>
    Task DeleteAsync(string machineId, CancellationToken cancellationToken = default);

    /// <summary>Changes limits; storage only grows. Applied live when running.</summary>
    Task ResizeAsync(string machineId, MachineResources resources, CancellationToken cancellationToken = default);

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
