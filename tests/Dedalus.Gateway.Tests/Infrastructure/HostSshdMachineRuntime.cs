using System.Collections.Concurrent;
using System.Diagnostics;
using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>
/// A test <see cref="IMachineRuntime"/> whose "machines" are host directories: <see cref="ExecAsync"/>
/// starts the real argv (the real <c>/usr/sbin/sshd -i -e</c>) as a host process, with the
/// machine-side config path rewritten to the machine's config. Only exec and state are modelled.
/// </summary>
public sealed class HostSshdMachineRuntime : IMachineRuntime
{
    private readonly ConcurrentDictionary<string, Machine> _machines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<HostMachineProcess, byte> _live = new();
    private int _execCount;

    /// <summary>Processes started and not yet exited.</summary>
    public int LiveProcessCount => _live.Keys.Count(p => !p.Exited.IsCompleted);

    public int ExecCount => Volatile.Read(ref _execCount);

    public IEnumerable<HostMachineProcess> LiveProcesses => _live.Keys.Where(p => !p.Exited.IsCompleted);

    public void AddMachine(string machineId, string configPath, MachineRuntimeState state = MachineRuntimeState.Running) =>
        _machines[machineId] = new Machine(configPath) { State = state };

    public void SetState(string machineId, MachineRuntimeState state) => _machines[machineId].State = state;

    public Task<IMachineProcess> ExecAsync(string machineId, MachineExecRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_machines.TryGetValue(machineId, out var machine) || machine.State != MachineRuntimeState.Running)
        {
            throw new InvalidOperationException($"{machineId} is not running");
        }

        Interlocked.Increment(ref _execCount);
        var startInfo = new ProcessStartInfo(request.Arguments[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in request.Arguments.Skip(1))
        {
            startInfo.ArgumentList.Add(argument == SshTestSite.MachineConfigPath ? machine.ConfigPath : argument);
        }

        var process = new HostMachineProcess(Process.Start(startInfo) ?? throw new InvalidOperationException("sshd did not start"));
        _live[process] = 0;
        _ = process.Exited.ContinueWith(_ => _live.TryRemove(process, out byte _), TaskScheduler.Default);
        return Task.FromResult<IMachineProcess>(process);
    }

    public void KillAll()
    {
        foreach (var process in _live.Keys)
        {
            process.Kill();
        }
    }

    public Task CreateAsync(MachineSpec spec, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task StartAsync(string machineId, CancellationToken cancellationToken = default)
    {
        SetState(machineId, MachineRuntimeState.Running);
        return Task.CompletedTask;
    }

    public Task StopAsync(string machineId, CancellationToken cancellationToken = default)
    {
        SetState(machineId, MachineRuntimeState.Sleeping);
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string machineId, CancellationToken cancellationToken = default)
    {
        _machines.TryRemove(machineId, out _);
        return Task.CompletedTask;
    }

    public Task ResizeAsync(string machineId, MachineResources resources, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<MachineRuntimeState> GetStateAsync(string machineId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_machines.TryGetValue(machineId, out var machine) ? machine.State : MachineRuntimeState.Missing);

    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<string>>([.. _machines.Keys]);

    public Task WriteSshTrustAsync(MachineSshTrust trust, CancellationToken cancellationToken = default) => Task.CompletedTask;

    private sealed class Machine(string configPath)
    {
        public string ConfigPath { get; } = configPath;

        public MachineRuntimeState State { get; set; }
    }
}
