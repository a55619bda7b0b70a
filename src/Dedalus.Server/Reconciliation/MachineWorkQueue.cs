using System.Threading.Channels;

namespace Dedalus.Server.Reconciliation;

/// <summary>
/// "Look at machine X soon": the API, the sweeper and the gateway kick; the <see cref="Reconciler"/> consumes, one
/// pass per machine at a time, kicks arriving meanwhile coalescing into one more pass. Idle (every kick handled) is
/// a signal, not a poll.
/// </summary>
public sealed class MachineWorkQueue
{
    private readonly Channel<string> _kicks = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _lock = new();
    private int _outstanding;
    private TaskCompletionSource _idle = NewIdleSignal(completed: true);

    /// <summary>Asks for a pass over <paramref name="machineId"/>. Cheap and non-blocking; repeated kicks coalesce.</summary>
    public void Kick(string machineId)
    {
        lock (_lock)
        {
            if (_outstanding++ == 0)
            {
                _idle = NewIdleSignal(completed: false);
            }
        }

        _kicks.Writer.TryWrite(machineId);
    }

    /// <summary>Completes once every kick so far has been handled (tests and benchmarks use it to settle).</summary>
    public Task WaitIdleAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return _idle.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Kicks asked for and not yet handled (coalesced ones included): the reconciler's backlog.</summary>
    public int Depth
    {
        get
        {
            lock (_lock)
            {
                return _outstanding;
            }
        }
    }

    internal ChannelReader<string> Kicks => _kicks.Reader;

    /// <summary>The consumer handled <paramref name="count"/> kicks.</summary>
    internal void Handled(int count)
    {
        TaskCompletionSource? idle = null;
        lock (_lock)
        {
            _outstanding -= count;
            if (_outstanding == 0)
            {
                idle = _idle;
            }
        }

        idle?.TrySetResult();
    }

    private static TaskCompletionSource NewIdleSignal(bool completed)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            signal.SetResult();
        }

        return signal;
    }
}
