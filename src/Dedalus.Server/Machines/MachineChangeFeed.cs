using System.Collections.Concurrent;

namespace Dedalus.Server.Machines;

/// <summary>In-process signal "machine X changed", for the status stream. The store holds the events themselves.</summary>
public sealed class MachineChangeFeed
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    public void Publish(string machineId)
    {
        if (_waiters.TryRemove(machineId, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    /// <summary>A task that completes at the next <see cref="Publish"/> for <paramref name="machineId"/>.</summary>
    public Task NextChangeAsync(string machineId, CancellationToken cancellationToken = default) =>
        _waiters.GetOrAdd(machineId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(cancellationToken);
}
