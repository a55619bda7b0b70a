using System.Collections.Concurrent;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;
using Dedalus.Testing.Sshd;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>
/// A test <see cref="IMachineRuntime"/> whose only capability is <see cref="ExecAsync"/> of the listening daemon: it
/// starts the real <c>/usr/sbin/sshd -D -e</c> on the host with the machine's test configuration and the options the
/// connector put after <see cref="MachineSshd.ConfigPath"/> (ListenAddress, MaxStartups, PidFile).
/// </summary>
public sealed class HostSshdDaemonRuntime : IMachineRuntime, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, string> _configs = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<HostMachineProcess> _started = [];

    /// <summary>How many daemons were started.</summary>
    public int DaemonStarts => _started.Count;

    /// <summary>The daemons started, oldest first.</summary>
    public IReadOnlyList<HostMachineProcess> Daemons => [.. _started.Reverse()];

    public void AddMachine(string machineId, string configPath) => _configs[machineId] = configPath;

    public Task<IMachineProcess> ExecAsync(string machineId, MachineExecRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_configs.TryGetValue(machineId, out var config))
        {
            throw new MachineNotRunningException(machineId, innerException: null);
        }

        var arguments = request.Arguments.ToList();
        var options = arguments[(arguments.IndexOf(MachineSshd.ConfigPath) + 1)..];
        Assert.Contains("-D", arguments);
        HostSshd.EnsurePrivilegeSeparationDirectory();
        var process = new HostMachineProcess(TestProcess.Start(HostSshd.Program, ["-D", "-e", "-f", config, .. options]));
        _started.Add(process);
        if (request.PacketStderr)
        {
            process.WithPacketStderr();
        }

        return Task.FromResult<IMachineProcess>(process);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _started)
        {
            process.Kill();
            await process.DisposeAsync();
        }
    }

    public Task CreateAsync(MachineSpec spec, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task InstallHostIdentityAsync(string machineId, MachineSshMaterial material, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task StartAsync(string machineId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task StopAsync(string machineId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task DeleteAsync(string machineId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task ResizeAsync(string machineId, MachineResources resources, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<MachineRuntimeState> GetStateAsync(string machineId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task WriteSshTrustAsync(MachineSshTrust trust, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<IMachineExecution> StartExecutionAsync(string machineId, MachineExecutionRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task EndExecutionAsync(string machineId, string name, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}
