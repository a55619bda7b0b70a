using System.Diagnostics;

namespace Dedalus.Testing;

/// <summary>
/// Waits for a condition nobody signals (a count that drops to zero, a process that goes away): checks it until it
/// holds or a generous bound passes, so that a busy machine only makes the test slower, never red.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>True as soon as <paramref name="condition"/> holds; its last answer once <paramref name="timeout"/> has passed.</summary>
    public static Task<bool> TrueAsync(Func<bool> condition, TimeSpan? timeout = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout);

    /// <summary>True as soon as <paramref name="condition"/> holds; its last answer once <paramref name="timeout"/> has passed.</summary>
    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var started = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                return await condition();
            }

            await Task.Delay(Interval);
        }

        return true;
    }
}
