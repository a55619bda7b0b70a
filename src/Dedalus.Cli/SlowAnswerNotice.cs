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

        using var timer = new Timer(_ => Show(request.RequestUri), null, after, Timeout.InfiniteTimeSpan);
        return await base.SendAsync(request, cancellationToken);
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
