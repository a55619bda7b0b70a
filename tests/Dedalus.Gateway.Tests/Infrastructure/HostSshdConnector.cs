using System.Collections.Concurrent;
using Dedalus.Machines.Runtime;
using Dedalus.Testing.Sshd;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>
/// A test <see cref="ISshServerConnector"/> whose "machines" are host directories: each connection starts the real
/// <c>/usr/sbin/sshd -i -e</c> as a host process with that machine's configuration. A machine that is not running
/// refuses, as a sleeping runc machine does.
/// </summary>
public sealed class HostSshdConnector : ISshServerConnector
{
    private readonly ConcurrentDictionary<string, Machine> _machines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<HostMachineProcess, byte> _live = new();
    private int _connectCount;

    /// <summary>sshd processes started and not yet exited.</summary>
    public int LiveProcessCount => _live.Keys.Count(p => !p.Exited.IsCompleted);

    /// <summary>How many sshd processes were started.</summary>
    public int ConnectCount => Volatile.Read(ref _connectCount);

    public void AddMachine(string machineId, string configPath, bool running = true) =>
        _machines[machineId] = new Machine(configPath) { Running = running };

    public void SetRunning(string machineId, bool running) => _machines[machineId].Running = running;

    public Task<IMachineProcess> ConnectAsync(string machineId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_machines.TryGetValue(machineId, out var machine) || !machine.Running)
        {
            throw new MachineNotRunningException(machineId, innerException: null);
        }

        Interlocked.Increment(ref _connectCount);
        var process = new HostMachineProcess(HostSshd.StartInetd(machine.ConfigPath)).WithPacketStderr();
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

    private sealed class Machine(string configPath)
    {
        public string ConfigPath { get; } = configPath;

        public bool Running { get; set; }
    }
}
