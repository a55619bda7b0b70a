namespace Dedalus.Server.Store;

/// <summary>
/// Says that the store cannot be reached, once per outage rather than once per request or tick: while the database is
/// down every request and every background pass fails the same way, and a stack trace each time would bury the one line
/// that matters. At most one warning per <see cref="Interval"/>, naming where it was noticed and how many went unsaid.
/// </summary>
public sealed class StoreOutageLog(TimeProvider timeProvider, ILogger<StoreOutageLog> logger)
{
    /// <summary>Shortest time between two warnings.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private DateTimeOffset? _lastWarning;
    private int _unsaid;

    /// <summary>Records that <paramref name="where"/> (a request path, a background loop) found the store unreachable.</summary>
    public void Report(string where, StoreUnavailableException exception)
    {
        var now = timeProvider.GetUtcNow();
        int unsaid;
        lock (_gate)
        {
            if (_lastWarning is { } last && now - last < Interval)
            {
                _unsaid++;
                return;
            }

            (_lastWarning, unsaid, _unsaid) = (now, _unsaid, 0);
        }

        ServerLog.StoreUnavailable(logger, where, exception.Message, unsaid);
    }
}
