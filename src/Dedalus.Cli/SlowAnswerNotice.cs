namespace Dedalus.Cli;

/// <summary>
/// When the server accepts a connection but does not answer, the SDK waits up to a minute per try, three tries: on a
/// terminal, say so once after a few seconds instead of sitting silent for three minutes. Nothing when stderr is
/// redirected.
/// </summary>
internal sealed class SlowAnswerNotice(TimeSpan after, TimeSpan perTry, int tries) : DelegatingHandler(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
{
    private int _shown;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Console.IsErrorRedirected || Volatile.Read(ref _shown) != 0)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        // A long poll (the events of a running execution, `wait_ms=N`) is meant to take up to N ms: only past that is it slow.
        using var timer = new Timer(_ => Show(request.RequestUri), null, after + LongPoll(request.RequestUri), Timeout.InfiniteTimeSpan);
        return await base.SendAsync(request, cancellationToken);
    }

    /// <summary>The <c>wait_ms</c> a request asks the server to hold it for; zero for any other request.</summary>
    internal static TimeSpan LongPoll(Uri? uri)
    {
        foreach (var pair in (uri?.Query ?? string.Empty).TrimStart('?').Split('&'))
        {
            if (pair.StartsWith("wait_ms=", StringComparison.Ordinal)
                && int.TryParse(pair.AsSpan("wait_ms=".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms))
            {
                return TimeSpan.FromMilliseconds(ms);
            }
        }

        return TimeSpan.Zero;
    }

    private void Show(Uri? uri)
    {
        if (Interlocked.Exchange(ref _shown, 1) != 0)
        {
            return;
        }

        var server = uri is null ? "the server" : uri.GetLeftPart(UriPartial.Authority);
        Console.Error.WriteLine(
            $"\r\u001b[Kdedalus: no answer yet from {server} after {after.TotalSeconds:0} s; still waiting " +
            $"(up to {perTry.TotalSeconds:0} s a try, {tries} tries): check the server, or Ctrl-C to stop");
    }
}
