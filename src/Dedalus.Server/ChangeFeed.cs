using System.Collections.Concurrent;

namespace Dedalus.Server;

/// <summary>
/// In-process signal "X changed", by key, for readers that wait for the next change (the machine status stream, the
/// events of an execution). The store holds what changed; this only wakes the waiters. Take the task before reading the
/// store, then wait on it: a change between the read and the wait is not missed.
/// </summary>
public abstract class ChangeFeed
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    public void Publish(string key)
    {
        if (_waiters.TryRemove(key, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    /// <summary>A task that completes at the next <see cref="Publish"/> for <paramref name="key"/>.</summary>
    public Task NextChangeAsync(string key, CancellationToken cancellationToken = default)
    {
        var next = _waiters.GetOrAdd(key, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        return cancellationToken.CanBeCanceled ? next.WaitAsync(cancellationToken) : next;
    }
}
