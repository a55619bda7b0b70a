using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Npgsql;

namespace Dedalus.Server.Cluster;

/// <summary>
/// Signals between nodes over PostgreSQL's LISTEN/NOTIFY on the database they share: a send is a <c>pg_notify</c>
/// (delivered to every listening session once the statement commits), and each node keeps one connection that
/// LISTENs. A notification carries the sending node's id, so a node skips its own. When the listening connection is
/// lost (the database restarted, a network cut), the node reconnects with back-off and then emits
/// <see cref="ClusterSignalKind.Resync"/>: whatever was sent meanwhile is caught up from the store.
/// </summary>
public sealed class PostgresClusterBus : IClusterBus, IAsyncDisposable
{
    /// <summary>The channel's name; one per database, so nodes of different clusters never share it.</summary>
    public const string Channel = "dedalus_signals";

    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(5);
    private readonly NpgsqlDataSource _dataSource;
    private readonly LocalNode _local;
    private readonly ILogger<PostgresClusterBus> _logger;
    private readonly Channel<ClusterSignal> _outgoing = System.Threading.Channels.Channel.CreateUnbounded<ClusterSignal>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _sender;

    public PostgresClusterBus(string connectionString, LocalNode local, ILogger<PostgresClusterBus> logger)
    {
        // A small pool of its own: signals must not wait behind the store's requests, nor take their connections.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 4, ApplicationName = "dedalus-server signals" };
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        _local = local;
        _logger = logger;
        _sender = Task.Run(() => SendLoopAsync(_stopping.Token));
    }

    public void Send(ClusterSignal signal) => _outgoing.Writer.TryWrite(signal);

    private async Task SendLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var signal in _outgoing.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await using var command = _dataSource.CreateCommand("SELECT pg_notify($1, $2)");
                    command.Parameters.Add(new NpgsqlParameter { Value = Channel });
                    command.Parameters.Add(new NpgsqlParameter { Value = _local.Id + " " + signal.Format() });
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    ServerLog.ClusterSignalNotSent(_logger, signal.Format(), ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public async IAsyncEnumerable<ClusterSignal> ReceiveAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var incoming = System.Threading.Channels.Channel.CreateUnbounded<ClusterSignal>(new UnboundedChannelOptions { SingleReader = true });
        var listener = Task.Run(() => ListenLoopAsync(incoming.Writer, cancellationToken), CancellationToken.None);
        try
        {
            await foreach (var signal in incoming.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return signal;
            }
        }
        finally
        {
            await listener.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task ListenLoopAsync(ChannelWriter<ClusterSignal> incoming, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        var connectedBefore = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    // "<sender node> <kind> <id> <node>": this node's own signals were acted on when sent.
                    var space = e.Payload.IndexOf(' ', StringComparison.Ordinal);
                    if (space > 0 && !e.Payload.AsSpan(0, space).SequenceEqual(_local.Id) && ClusterSignal.TryParse(e.Payload[(space + 1)..], out var signal)
                        && signal.Kind != ClusterSignalKind.Resync)
                    {
                        incoming.TryWrite(signal);
                    }
                };
                await using (var listen = connection.CreateCommand())
                {
                    listen.CommandText = "LISTEN " + Channel;
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                ServerLog.ClusterListening(_logger, Channel);
                if (connectedBefore)
                {
                    incoming.TryWrite(new ClusterSignal(ClusterSignalKind.Resync, "-", "-"));
                }

                connectedBefore = true;
                delay = TimeSpan.FromMilliseconds(200);
                while (true)
                {
                    await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException or IOException)
            {
                ServerLog.ClusterListenFailed(_logger, delay, ex);
                connectedBefore = true;
                try
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _outgoing.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _sender.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
