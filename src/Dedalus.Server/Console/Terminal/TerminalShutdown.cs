namespace Dedalus.Server.Console.Terminal;

/// <summary>
/// Ends the open terminals when the server stops: each browser gets a <c>closed</c> frame (<c>shutdown</c>), each ssh
/// is killed and each session closed, so no terminal certificate stays valid.
/// </summary>
/// <remarks>
/// It starts on <see cref="IHostApplicationLifetime.ApplicationStopping"/>, not in <see cref="StopAsync"/>: the web
/// server stops before the other hosted services, and it waits for open requests (a terminal is one) until the host's
/// stop timeout, then cuts them, which would leave the browser without its <c>closed</c> frame.
/// </remarks>
public sealed class TerminalShutdown(TerminalHost terminals, IHostApplicationLifetime lifetime) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopTimeout = new();
    private CancellationTokenRegistration _stopping;
    private Task _ending = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(() => _ending = Task.Run(() => terminals.EndAllAsync(_stopTimeout.Token), CancellationToken.None));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.Register(_stopTimeout.Cancel);
        await _ending.ConfigureAwait(false);
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _stopTimeout.Dispose();
    }
}
