using System.IO.Pipelines;
using System.Text;
using Dedalus.Machines.Runtime;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// An execution of the in-memory runtime that echoes: once its stdin is closed it writes every environment value
/// (<c>NAME=value</c> lines, by name) then what it read to stdout, and exits 0. For tests that follow input through the
/// server (between nodes) without runc.
/// </summary>
public sealed class EchoExecution : IMachineExecution
{
    private readonly Pipe _stdin = new();
    private readonly Pipe _stdout = new();
    private readonly Pipe _stderr = new();
    private readonly TaskCompletionSource<MachineExitStatus> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public EchoExecution(MachineExecutionRequest request)
    {
        StandardInput = _stdin.Writer.AsStream();
        StandardOutput = _stdout.Reader.AsStream();
        StandardError = _stderr.Reader.AsStream();
        _ = EchoAsync(request);
    }

    public Stream StandardInput { get; }

    public Stream StandardOutput { get; }

    public Stream StandardError { get; }

    public Task<MachineExitStatus> Exited => _exited.Task;

    public int Signal(int signal)
    {
        _exited.TrySetResult(new MachineExitStatus(null, signal));
        return 1;
    }

    public Task<bool> KillAllAsync(TimeSpan wait, CancellationToken cancellationToken = default)
    {
        _exited.TrySetResult(new MachineExitStatus(null, 9));
        return Task.FromResult(true);
    }

    public Task<bool> WaitUntilEmptyAsync(TimeSpan wait, CancellationToken cancellationToken = default) => Task.FromResult(_exited.Task.IsCompleted);

    public Task ReleaseAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task EchoAsync(MachineExecutionRequest request)
    {
        using var input = new MemoryStream();
        await _stdin.Reader.AsStream().CopyToAsync(input);
        var env = string.Concat(request.Environment.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}\n"));
        await _stdout.Writer.WriteAsync(Encoding.UTF8.GetBytes(env));
        await _stdout.Writer.WriteAsync(input.ToArray());
        await _stdout.Writer.CompleteAsync();
        await _stderr.Writer.CompleteAsync();
        _exited.TrySetResult(MachineExitStatus.Exit(0));
    }
}
