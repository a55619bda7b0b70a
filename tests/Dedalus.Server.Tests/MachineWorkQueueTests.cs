using Dedalus.Server.Reconciliation;

namespace Dedalus.Server.Tests;

/// <summary>The reconciler's queue: idle is a signal, set when every kick so far has been handled.</summary>
public sealed class MachineWorkQueueTests
{
    [Fact]
    public async Task Idle_waits_for_every_kick_to_be_handled_and_completes_at_once_when_nothing_is_pending()
    {
        var queue = new MachineWorkQueue();
        await queue.WaitIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));

        queue.Kick("dm-a");
        queue.Kick("dm-a");
        queue.Kick("dm-b");
        var idle = queue.WaitIdleAsync();
        Assert.True(queue.Kicks.TryRead(out var first));
        Assert.Equal("dm-a", first);

        queue.Handled(2);
        Assert.False(idle.IsCompleted);
        queue.Handled(1);

        await idle.WaitAsync(TimeSpan.FromSeconds(10));
        queue.Kick("dm-c");
        Assert.False(queue.WaitIdleAsync().IsCompleted);
    }
}
