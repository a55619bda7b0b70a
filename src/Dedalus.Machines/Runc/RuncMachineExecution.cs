using System.ComponentModel;
using System.Diagnostics;
using Dedalus.Machines.Host;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

/// <summary>
/// An execution started with <c>runc exec</c>: runc's pipes are the command's own stdio, the command's process sits in the
/// execution's cgroup from before it ran its first instruction, and a pidfd opened then gives its exact exit status
/// (runc itself reports a signal as 128+n, which a command may also exit with).
/// </summary>
internal sealed class RuncMachineExecution : IMachineExecution
{
    private const int SigKill = 9;
    private static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _runc;
    private readonly Pidfd _pidfd;
    private readonly ExecutionGroup _group;
    private readonly string[] _files;

    public RuncMachineExecution(Process runc, Pidfd pidfd, ExecutionGroup group, params string[] files)
    {
        _runc = runc;
        _pidfd = pidfd;
        _group = group;
        _files = files;
        Exited = WaitForExitAsync();
    }

    public Stream StandardInput => _runc.StandardInput.BaseStream;

    public Stream StandardOutput => _runc.StandardOutput.BaseStream;

    public Stream StandardError => _runc.StandardError.BaseStream;

    public Task<MachineExitStatus> Exited { get; }

    public int Signal(int signal) => _group.Signal(signal);

    public async Task<bool> KillAllAsync(TimeSpan wait, CancellationToken cancellationToken = default)
    {
        _group.Kill();
        return await _group.WaitUntilEmptyAsync(wait, cancellationToken).ConfigureAwait(false);
    }

    public Task<bool> WaitUntilEmptyAsync(TimeSpan wait, CancellationToken cancellationToken = default) =>
        _group.WaitUntilEmptyAsync(wait, cancellationToken);

    public Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        _group.ReleaseProcesses();
        _group.TryRemove();
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (!Exited.IsCompleted)
        {
            _group.Kill();
            _pidfd.Signal(SigKill);
        }

        try
        {
            await Exited.WaitAsync(DisposeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            try
            {
                _runc.Kill();
            }
            catch (InvalidOperationException)
            {
            }
            catch (Win32Exception)
            {
            }
        }

        if (!_group.IsPopulated())
        {
            _group.TryRemove();
        }

        _pidfd.Dispose();
        _runc.Dispose();
    }

    private async Task<MachineExitStatus> WaitForExitAsync()
    {
        try
        {
            // runc exits when the command's process has ended and it has reaped it: the pidfd then knows how.
            await _runc.WaitForExitAsync().ConfigureAwait(false);
            return _pidfd.ExitStatus() is { } status ? MachineExitStatus.FromWaitStatus(status) : FromRuncExitCode(_runc.ExitCode);
        }
        finally
        {
            foreach (var file in _files)
            {
                try
                {
                    File.Delete(file);
                }
                catch (IOException)
                {
                    // The machine (and its exec directory) went away meanwhile.
                }
            }
        }
    }

    /// <summary>Kernels before 6.15 cannot say through a pidfd: then runc's own code, where a signal reads as 128+n.</summary>
    private static MachineExitStatus FromRuncExitCode(int code) => code is > 128 and < 128 + 65 ? MachineExitStatus.Killed(code - 128) : MachineExitStatus.Exit(code);
}
