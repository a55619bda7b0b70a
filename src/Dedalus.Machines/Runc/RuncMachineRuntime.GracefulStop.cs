using System.Diagnostics;
using Dedalus.Machines.Host;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    private const int SigTerm = 15;

    /// <summary>How often a graceful stop looks whether the machine's processes are gone (a read of cgroup.procs and their status files).</summary>
    private static readonly TimeSpan TerminatePollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// SIGTERM to every process of the machine but its init pair and its executions, then a wait of up to
    /// <paramref name="grace"/> until they are gone. Each process gets the signal once: what they start while they
    /// exit (a trap's commands) is not signalled, but is waited for.
    /// </summary>
    /// <remarks>
    /// Not <c>runc kill --all</c>: it would signal the init (tini), which passes SIGTERM to its child, the keep-alive
    /// sleep, and exits with it, and the kernel then SIGKILLs the whole pid namespace before anything could exit by
    /// itself. Executions are left to the stop that follows, which kills them as a stop without grace does.
    /// </remarks>
    private async Task TerminateAsync(string machineId, TimeSpan grace, CancellationToken cancellationToken)
    {
        var init = await _runc.InitPidAsync(machineId, cancellationToken).ConfigureAwait(false);
        var cgroup = MemoryCgroup.OfMachine(OciSpec.CgroupsPath(machineId));
        if (init <= 0 || !cgroup.Exists)
        {
            return;
        }

        var started = Stopwatch.StartNew();
        try
        {
            if (cgroup.Read() is { HoldAtLimit: true, AtLimit: true })
            {
                // A task held at the limit sleeps in the kernel, woken by SIGKILL or a raised limit only.
                RuncLog.MachineHeldAtStop(_logger, machineId);
            }
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            // Gone meanwhile: nothing to tell.
        }

        var signalled = 0;
        foreach (var pid in ProcessesToTerminate(machineId, cgroup, init))
        {
            if (NativeMethods.Signal(pid, SigTerm))
            {
                signalled++;
            }
        }

        var left = ProcessesToTerminate(machineId, cgroup, init).Count;
        while (left > 0 && started.Elapsed < grace)
        {
            var remaining = grace - started.Elapsed;
            await Task.Delay(remaining < TerminatePollInterval ? remaining : TerminatePollInterval, cancellationToken).ConfigureAwait(false);
            left = ProcessesToTerminate(machineId, cgroup, init).Count;
        }

        RuncLog.MachineTerminated(_logger, machineId, signalled, left, started.ElapsedMilliseconds, (long)grace.TotalMilliseconds);
    }

    /// <summary>
    /// The machine's live processes (zombies left out) but the init (host pid <paramref name="init"/>), its keep-alive
    /// child and the processes of executions. The keep-alive is the init's oldest child: the init starts it first thing,
    /// and every other process of the machine comes later (by <c>runc exec</c>) and may be the init's child only as an
    /// orphan it adopted.
    /// </summary>
    private static List<int> ProcessesToTerminate(string machineId, MemoryCgroup cgroup, int init)
    {
        var executions = ExecutionGroup.All(ExecutionGroup.MachineGroup(OciSpec.CgroupsPath(machineId)))
            .SelectMany(group => group.Processes())
            .ToHashSet();
        var candidates = new List<(int Pid, ProcessStatus Status)>();
        foreach (var pid in cgroup.Processes())
        {
            if (pid != init && !executions.Contains(pid) && ProcessTree.ReadStatus(pid) is { } status && status.State is not ('Z' or 'X'))
            {
                candidates.Add((pid, status));
            }
        }

        var keepAlive = candidates.Where(c => c.Status.ParentPid == init).OrderBy(c => c.Status.StartTime).ThenBy(c => c.Pid).Select(c => c.Pid).FirstOrDefault();
        return [.. candidates.Select(c => c.Pid).Where(pid => pid != keepAlive)];
    }
}
