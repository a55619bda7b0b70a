using Dedalus.Server.Gateway;
using Dedalus.Server.Hosting;
using Dedalus.Server.Store;

namespace Dedalus.Server.Connections;

/// <summary>
/// Publishes this node's open gateway connections in the store, so that every node can list them: at start (which also
/// deletes the rows this node left when it stopped or crashed: those connections ended with it), then at every
/// <see cref="ServerOptions.NodeHeartbeatInterval"/> (2 s) with their byte counts, in one write per tick and none when
/// nothing changed. A connection's end deletes its row at once (<see cref="LiveConnectionLedger.RecordEndedAsync"/>).
/// </summary>
public sealed class LiveConnectionPublisher(
    LiveConnectionLedger ledger,
    ILiveConnections gateway,
    StoreOutageLog outage,
    ServerOptions options,
    TimeProvider timeProvider,
    ILogger<LiveConnectionPublisher> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await PublishOnceAsync(cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.NodeHeartbeatInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await PublishOnceAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One tick; failures are logged and left to the next one, which writes the whole set again.</summary>
    internal async Task PublishOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ledger.PublishAsync(() => gateway.Open(), cancellationToken).ConfigureAwait(false);
        }
        catch (StoreUnavailableException ex)
        {
            outage.Report("live SSH connections", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ServerLog.LiveConnectionsNotPublished(logger, options.NodeHeartbeatInterval, ex);
        }
    }

    public void Dispose() => _stopping.Dispose();
}
