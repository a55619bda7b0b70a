using System.Collections.Concurrent;

namespace Dedalus.Server.Executions;

/// <summary>In-process signal "execution X has new events", for readers that wait (events with <c>wait_ms</c>, the log stream).</summary>
public sealed class ExecutionChangeFeed
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    public void Publish(string executionId)
    {
        if (_waiters.TryRemove(executionId, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    /// <summary>
    /// A task that completes at the next <see cref="Publish"/> for <paramref name="executionId"/>. Take it before reading
    /// the store, then wait on it: a change between the read and the wait is not missed.
    /// </summary>
    public Task NextChangeAsync(string executionId) =>
        _waiters.GetOrAdd(executionId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
}
