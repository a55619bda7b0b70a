using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dedalus.Machines.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// Reaches a machine's SSH server over the machine's network: one sshd daemon per running machine
/// (<see cref="MachineSshd.DaemonArguments"/>, as root, through <see cref="IMachineRuntime.ExecAsync"/>: the same
/// host-owned sshd and confinement as the inetd path), listening on the machine's address, port 22; each connection is a
/// TCP connection from the gateway's address. Saves the <c>runc exec</c> of every connection (about 100 ms and a few MiB
/// of host memory each).
/// <para>
/// Attribution: the daemon's children all log to the daemon's one stderr, a pipe only this connector holds (root inside
/// the machine cannot open it: the sshd programs are execute-only, hence non-dumpable). One reader takes its lines and
/// hands each to the connection whose source port the line names ("... &lt;gateway address&gt; port P"); an accepted line
/// counts only by its own "from ADDRESS port P" fields (<see cref="SshdAcceptedLine"/>). Lines of other sources (a
/// connection made from inside the machine has the machine's own address: root inside has no CAP_NET_ADMIN in its
/// network namespace to take the gateway's address or spoof a source) reach no connection. The port is registered
/// before the connection is made, so no line of it can come first. The daemon's stderr is a pipe in packet mode, read
/// as records (<see cref="SshdLogReader"/>): a record that is not one whole line (client-chosen text with a line break
/// in it) is never read as an accepted line, and reaches its connection marked (<see cref="Forwarded"/>).
/// </para>
/// <para>
/// The daemon starts at <see cref="WarmAsync"/> (after every wake) or at the first connection; when it has ended (the
/// machine slept, root inside killed it) the next connection starts another. A machine without a network
/// (<c>sshEndpointOf</c> answers null), a daemon that does not come to listen (the port is taken) or a refused connect
/// falls back to <paramref name="fallback"/> for that connection, logged.
/// </para>
/// </summary>
/// <param name="runtime">Starts the daemon inside the machine.</param>
/// <param name="sshEndpointOf">The machine's sshd endpoint (its address, port 22), or null when it has no network.</param>
/// <param name="gatewayAddress">The host-side address connections come from (bound, port 0).</param>
/// <param name="fallback">The per-connection path (<see cref="InetdSshServerConnector"/>).</param>
/// <param name="logger">Where start failures and fallbacks are logged.</param>
public sealed class ListeningSshServerConnector(
    IMachineRuntime runtime,
    Func<string, CancellationToken, ValueTask<IPEndPoint?>> sshEndpointOf,
    IPAddress gatewayAddress,
    ISshServerConnector fallback,
    ILogger? logger = null) : ISshServerConnector, IAsyncDisposable
{
    /// <summary>How long a new daemon may take to say it listens: generous, a busy host starts processes slowly.</summary>
    public static readonly TimeSpan ListenTimeout = TimeSpan.FromSeconds(20);

    private const int MaxLineBytes = 1024;
    private const string ListeningMarker = "Server listening on ";

    private readonly ConcurrentDictionary<string, Lazy<Task<Daemon?>>> _daemons = new(StringComparer.Ordinal);
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly string _gatewayPortMarker = " " + gatewayAddress + " port ";

    /// <summary>Starts the machine's daemon unless it runs; false when it could not be started.</summary>
    public async Task<bool> WarmAsync(string machineId, CancellationToken cancellationToken = default)
    {
        var endPoint = await sshEndpointOf(machineId, cancellationToken).ConfigureAwait(false);
        return endPoint is not null && await DaemonAsync(machineId, endPoint, cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <inheritdoc />
    public async Task PrepareAsync(string machineId, CancellationToken cancellationToken = default)
    {
        try
        {
            await WarmAsync(machineId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MachineRuntimeException or MachineNotRunningException or MachineNotFoundException or IOException or SocketException or OperationCanceledException)
        {
            // The next connection starts the daemon again, or falls back.
        }
    }

    /// <inheritdoc />
    public async Task<IMachineProcess> ConnectAsync(string machineId, CancellationToken cancellationToken = default)
    {
        var endPoint = await sshEndpointOf(machineId, cancellationToken).ConfigureAwait(false);
        if (endPoint is null)
        {
            return await fallback.ConnectAsync(machineId, cancellationToken).ConfigureAwait(false);
        }

        var daemon = await DaemonAsync(machineId, endPoint, cancellationToken).ConfigureAwait(false);
        if (daemon is not null && await daemon.ConnectAsync(gatewayAddress, cancellationToken).ConfigureAwait(false) is { } connection)
        {
            return connection;
        }

        return await fallback.ConnectAsync(machineId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Kills every daemon this connector started.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var entry in _daemons.Values)
        {
            if (entry.IsValueCreated && await entry.Value.ConfigureAwait(false) is { } daemon)
            {
                await daemon.DisposeAsync().ConfigureAwait(false);
            }
        }

        _daemons.Clear();
    }

    private async Task<Daemon?> DaemonAsync(string machineId, IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        while (true)
        {
            var entry = _daemons.GetOrAdd(machineId, id => new Lazy<Task<Daemon?>>(() => StartAsync(id, endPoint)));
            var daemon = await entry.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (daemon is not null && !daemon.Ended && daemon.EndPoint.Equals(endPoint))
            {
                return daemon;
            }

            // Ended, failed or moved: the next caller starts another (a failed start is retried by the next connection).
            _daemons.TryRemove(new KeyValuePair<string, Lazy<Task<Daemon?>>>(machineId, entry));
            if (daemon is null)
            {
                return null;
            }

            await daemon.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<Daemon?> StartAsync(string machineId, IPEndPoint endPoint, bool again = false)
    {
        IMachineProcess process;
        try
        {
            // Not the connection's token: the daemon outlives the connection that started it.
            process = await runtime.ExecAsync(machineId, new MachineExecRequest(MachineSshd.DaemonArguments(endPoint)) { PacketStderr = true }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (MachineRuntimeException e)
        {
            // A daemon that cannot bind may end before the exec has put its log pipe in packet mode: the exec fails.
            ListeningSshLog.DaemonFailed(_logger, machineId, endPoint.ToString(), e.Message);
            return await RetryPastStaleDaemonAsync(machineId, endPoint, again).ConfigureAwait(false);
        }

        var daemon = new Daemon(this, machineId, endPoint, process);
        var outcome = await Task.WhenAny(daemon.Listening, Task.Delay(ListenTimeout)).ConfigureAwait(false);
        if (outcome == daemon.Listening && await daemon.Listening.ConfigureAwait(false))
        {
            ListeningSshLog.DaemonListening(_logger, machineId, endPoint.ToString());
            return daemon;
        }

        var tail = daemon.Tail();
        ListeningSshLog.DaemonFailed(_logger, machineId, endPoint.ToString(), tail);
        await daemon.DisposeAsync().ConfigureAwait(false);

        return tail.Contains(StaleSshDaemons.AddressInUse, StringComparison.Ordinal)
            ? await RetryPastStaleDaemonAsync(machineId, endPoint, again).ConfigureAwait(false)
            : null;
    }

    /// <summary>A daemon an earlier server left holds the port: stop it and start again, once (StaleSshDaemons).</summary>
    private async Task<Daemon?> RetryPastStaleDaemonAsync(string machineId, IPEndPoint endPoint, bool again) =>
        !again && await StaleSshDaemons.StopAsync(machineId, endPoint, _logger).ConfigureAwait(false) > 0
            ? await StartAsync(machineId, endPoint, again: true).ConfigureAwait(false)
            : null;

    /// <summary>
    /// The chunk a connection's stderr gets for <paramref name="record"/>: an attributable record as sshd wrote it (one
    /// line), any other with each line marked (<see cref="SshdLogRecord.UnattributableMark"/>) and all in one chunk, so that the
    /// gateway's reader (<see cref="SshdLogReader"/>, one chunk per read) cannot take it, or a line of it, for one
    /// line of sshd's.
    /// </summary>
    public static byte[] Forwarded(SshdLogRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var text = record.Attributable
            ? record.Lines[0] + "\r\n"
            : string.Concat(record.DisplayLines.Select(line => line + "\n"));
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>
    /// The gateway-side source port a daemon record is about, or -1. An attributable record: an accepted line by its
    /// own "from ADDRESS port P" fields, any other by its first "GATEWAY port P". Any other record: by the first
    /// "GATEWAY port P" of its first line, never as an accepted line.
    /// </summary>
    public int PortOf(SshdLogRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.TryParseAccepted(out var accepted))
        {
            return string.Equals(accepted.Address, gatewayAddress.ToString(), StringComparison.Ordinal) ? accepted.Port : -1;
        }

        return PortMarkerOf(record.Lines[0]);
    }

    /// <summary>The gateway-side source port a daemon line is about, or -1: an accepted line by its own "from ADDRESS port P" fields, any other by the first "GATEWAY port P".</summary>
    public int PortOf(string line) => PortOf(new SshdLogRecord([line], Attributable: true));

    private int PortMarkerOf(string line)
    {
        var at = line.IndexOf(_gatewayPortMarker, StringComparison.Ordinal);
        if (at < 0)
        {
            return -1;
        }

        var digits = line.AsSpan(at + _gatewayPortMarker.Length);
        var length = 0;
        while (length < digits.Length && length < 6 && char.IsAsciiDigit(digits[length]))
        {
            length++;
        }

        return length is > 0 and <= 5 && int.TryParse(digits[..length], NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : -1;
    }

    /// <summary>One sshd daemon of one machine, its stderr reader, and the connections it serves by source port.</summary>
    private sealed class Daemon : IAsyncDisposable
    {
        private readonly ListeningSshServerConnector _owner;
        private readonly string _machineId;
        private readonly IMachineProcess _process;
        private readonly ConcurrentDictionary<int, ListeningSshConnection> _connections = new();
        private readonly TaskCompletionSource<bool> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Queue<string> _tail = new();
        private readonly Task _reader;

        public Daemon(ListeningSshServerConnector owner, string machineId, IPEndPoint endPoint, IMachineProcess process)
        {
            _owner = owner;
            _machineId = machineId;
            EndPoint = endPoint;
            _process = process;
            _process.StandardInput.Dispose();
            _reader = Task.Run(ReadAsync);
        }

        public IPEndPoint EndPoint { get; }

        public Task<bool> Listening => _listening.Task;

        public bool Ended => _process.Exited.IsCompleted || _reader.IsCompleted;

        public string Tail()
        {
            lock (_tail)
            {
                return _tail.Count == 0 ? "nothing on stderr" : string.Join(" | ", _tail);
            }
        }

        /// <summary>A connection from the gateway address, its port registered before any byte flows; null when refused.</summary>
        public async Task<ListeningSshConnection?> ConnectAsync(IPAddress source, CancellationToken cancellationToken)
        {
            var socket = new Socket(EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            ListeningSshConnection? connection = null;
            try
            {
                socket.NoDelay = true;
                socket.Bind(new IPEndPoint(source, 0));
                var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
                connection = new ListeningSshConnection(socket, port, ended => _connections.TryRemove(new KeyValuePair<int, ListeningSshConnection>(ended.LocalPort, ended)));
                _connections[port] = connection;
                await socket.ConnectAsync(EndPoint, cancellationToken).ConfigureAwait(false);
                return connection;
            }
            catch (SocketException e)
            {
                ListeningSshLog.ConnectFailed(_owner._logger, _machineId, EndPoint.ToString(), e.Message);
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    socket.Dispose();
                }

                return null;
            }
            catch
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    socket.Dispose();
                }

                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill();
            foreach (var connection in _connections.Values)
            {
                connection.Kill();
            }

            await _process.DisposeAsync().ConfigureAwait(false);
        }

        private async Task ReadAsync()
        {
            var reader = new SshdLogReader(_process.StandardError, MaxLineBytes);
            try
            {
                while (await reader.ReadAsync().ConfigureAwait(false) is { } record)
                {
                    OnRecord(record);
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
            {
            }
            finally
            {
                _listening.TrySetResult(false);
                ListeningSshLog.DaemonEnded(_owner._logger, _machineId, EndPoint.ToString());
                foreach (var connection in _connections.Values)
                {
                    // Their sshd processes lost their log: without it no login can be attributed, so none may go on.
                    connection.Kill();
                }
            }
        }

        private void OnRecord(SshdLogRecord record)
        {
            if (!_listening.Task.IsCompleted)
            {
                lock (_tail)
                {
                    foreach (var line in record.Lines)
                    {
                        if (_tail.Count == 8)
                        {
                            _tail.Dequeue();
                        }

                        _tail.Enqueue(line);
                    }
                }

                if (record.Attributable && record.Lines[0].StartsWith(ListeningMarker, StringComparison.Ordinal))
                {
                    _listening.TrySetResult(true);
                    return;
                }
            }

            var port = _owner.PortOf(record);
            if (port >= 0 && _connections.TryGetValue(port, out var connection))
            {
                connection.AddLine(Forwarded(record));
            }
            else
            {
                foreach (var line in record.Lines)
                {
                    ListeningSshLog.LineDropped(_owner._logger, _machineId, line);
                }
            }
        }
    }
}
