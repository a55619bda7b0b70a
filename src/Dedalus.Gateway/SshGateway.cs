using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Dedalus.Machines.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dedalus.Gateway;

/// <summary>
/// The TCP SSH gateway: one listener per machine on the machine's stable port; per connection it
/// waits for the client's SSH identification line, asks the <see cref="IGatewayBackend"/> for admission, waits for a
/// handshake slot, connects to the machine's SSH server through <see cref="ISshServerConnector"/> (the runc engine
/// starts <c>sshd -i</c> inside it) and pumps bytes both ways. Connections that have not authenticated live within
/// budgets of their own (<see cref="GatewayOptions"/>), so they never take what authenticated ones need. Listeners are in
/// this file; connection handling in SshGateway.Connections.cs and SshGateway.Identification.cs; refusals in
/// SshGateway.Refusals.cs; cutting in SshGateway.Closing.cs; activity reports in SshGateway.Activity.cs; the snapshot of open
/// connections in SshGateway.Snapshot.cs.
/// </summary>
public sealed partial class SshGateway : IAsyncDisposable
{
    private readonly GatewayOptions _options;
    private readonly PreAuthenticationBudget _budget;
    private readonly ISshServerConnector _sshServers;
    private readonly IGatewayBackend _backend;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly GatewayMetrics? _metrics;
    private readonly ConcurrentDictionary<string, MachineListener> _listeners = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, GatewayConnection> _connections = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _closedSessions = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _listenerLock = new(1, 1);
    private readonly ITimer? _activityTimer;
    private long _nextConnectionId;
    private int _total;
    private int _disposed;

    public SshGateway(
        GatewayOptions options,
        ISshServerConnector sshServers,
        IGatewayBackend backend,
        TimeProvider? timeProvider = null,
        ILogger<SshGateway>? logger = null,
        GatewayMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sshServers);
        ArgumentNullException.ThrowIfNull(backend);
        options.Validate();
        _options = options;
        _budget = new PreAuthenticationBudget(options);
        _sshServers = sshServers;
        _backend = backend;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _metrics = metrics;
        if (options.ActivityReportInterval > TimeSpan.Zero)
        {
            _activityTimer = _timeProvider.CreateTimer(
                static state => ((SshGateway)state!).ReportActivityOfOpenMachines(),
                this,
                options.ActivityReportInterval,
                options.ActivityReportInterval);
        }
    }

    /// <summary>The options in force.</summary>
    public GatewayOptions Options => _options;

    /// <summary>Connections across the gateway in any state, from accept (counted against <see cref="GatewayOptions.MaxConnections"/>).</summary>
    public int OpenConnectionCount => Volatile.Read(ref _total);

    /// <summary>Connections across the gateway accepted and not yet authenticated (counted against <see cref="GatewayOptions.MaxPendingConnections"/>).</summary>
    public int PendingConnectionCount => _budget.PendingCount;

    /// <summary>
    /// Starts listening for <paramref name="machineId"/> on <paramref name="port"/> (from the
    /// configured range; <c>0</c> binds an ephemeral port, for tests). Idempotent for the same port.
    /// </summary>
    /// <returns>The bound end point.</returns>
    /// <exception cref="GatewayException">
    /// The port is outside the range, in use, cannot be bound, or the machine already listens on another port
    /// (<see cref="GatewayException.Error"/> says which).
    /// </exception>
    public async Task<IPEndPoint> OpenAsync(string machineId, int port, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineId);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (port != 0 && (port < _options.PortRangeStart || port > _options.PortRangeEnd))
        {
            throw new GatewayException(
                $"port {port} is outside the gateway range {_options.PortRangeStart}-{_options.PortRangeEnd}", GatewayError.PortOutsideRange, machineId, port);
        }

        await _listenerLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_listeners.TryGetValue(machineId, out var existing))
            {
                return port == 0 || existing.EndPoint.Port == port
                    ? existing.EndPoint
                    : throw new GatewayException($"{machineId} already listens on port {existing.EndPoint.Port}", GatewayError.ListeningOnAnotherPort, machineId, port);
            }

            var socket = new Socket(_options.ListenAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (_options.ListenAddress.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }

                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(new IPEndPoint(_options.ListenAddress, port));
                socket.Listen(_options.ListenBacklog);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                var error = ex.SocketErrorCode == SocketError.AddressAlreadyInUse ? GatewayError.PortInUse : GatewayError.BindFailed;
                throw new GatewayException($"cannot listen for {machineId} on {_options.ListenAddress}:{port}: {ex.SocketErrorCode}", error, machineId, port, ex);
            }

            var listener = new MachineListener(machineId, socket);
            _listeners[machineId] = listener;
            listener.AcceptLoop = Task.Run(() => AcceptLoopAsync(listener), CancellationToken.None);
            GatewayLog.ListenerOpened(_logger, machineId, listener.EndPoint.ToString());
            return listener.EndPoint;
        }
        finally
        {
            _listenerLock.Release();
        }
    }

    /// <summary>Stops listening for the machine and cuts its connections (machine deleted or moved).</summary>
    public async Task CloseAsync(string machineId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineId);
        await _listenerLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        MachineListener? listener;
        try
        {
            _listeners.TryRemove(machineId, out listener);
        }
        finally
        {
            _listenerLock.Release();
        }

        if (listener is null)
        {
            return;
        }

        listener.Stop();
        var connections = listener.Connections.Values.ToArray();
        foreach (var connection in connections)
        {
            connection.Cut(GatewayConnectionEnd.GatewayClosed);
        }

        await listener.AcceptLoop.WaitAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(connections.Select(c => c.Completion)).WaitAsync(cancellationToken).ConfigureAwait(false);
        GatewayLog.ListenerClosed(_logger, machineId);
    }

    /// <summary>The end point the machine's listener is bound to, or null when it has none.</summary>
    public IPEndPoint? GetEndPoint(string machineId) =>
        _listeners.TryGetValue(machineId, out var listener) ? listener.EndPoint : null;

    /// <summary>Machines with a listener.</summary>
    public IReadOnlyCollection<string> ListeningMachines => [.. _listeners.Keys];

    /// <summary>
    /// Open connections to one machine: those that have sent their identification line and not ended (being admitted,
    /// waiting for or in their handshake, logged in). An open connection keeps the machine awake; a silent one does not.
    /// </summary>
    public int GetOpenConnectionCount(string machineId) =>
        _listeners.TryGetValue(machineId, out var listener) ? listener.Count : 0;

    /// <summary>Authenticated connections to one machine (counted against <see cref="GatewayOptions.MaxConnectionsPerMachine"/>).</summary>
    public int GetAuthenticatedConnectionCount(string machineId) =>
        _listeners.TryGetValue(machineId, out var listener) ? listener.AuthenticatedCount : 0;

    /// <summary>Connections to one machine accepted and not yet authenticated (counted against <see cref="GatewayOptions.MaxPendingConnectionsPerMachine"/>).</summary>
    public int GetPendingConnectionCount(string machineId) => _budget.GetPendingCount(machineId);

    /// <summary>Connections to one machine waiting for a handshake slot (<see cref="GatewayOptions.MaxHandshakesPerMachine"/>).</summary>
    internal int GetHandshakeWaitingCount(string machineId) => _budget.GetWaitingCount(machineId);

    /// <summary>Open connections that logged in with the session (certificate key id) <paramref name="sessionId"/>.</summary>
    public int GetSessionConnectionCount(string sessionId)
    {
        var count = 0;
        foreach (var connection in _connections.Values)
        {
            if (string.Equals(connection.SessionId, sessionId, StringComparison.Ordinal) && connection.End is null)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Stops every listener and cuts every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_activityTimer is not null)
        {
            await _activityTimer.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var machineId in _listeners.Keys.ToArray())
        {
            await CloseAsync(machineId).ConfigureAwait(false);
        }

        _listenerLock.Dispose();
    }
}
