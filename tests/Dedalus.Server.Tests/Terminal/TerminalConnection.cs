using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Dedalus.Server.Console;
using Dedalus.Testing;

namespace Dedalus.Server.Tests.Terminal;

/// <summary>
/// A browser's side of the terminal protocol with <see cref="ClientWebSocket"/>: connects (Origin and the browser session's
/// cookie), collects output bytes and control frames on a receive loop that can be paused (a slow browser), types,
/// resizes and closes. Every wait is bounded.
/// </summary>
public sealed class TerminalConnection : IAsyncDisposable
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private readonly ClientWebSocket _socket;
    private readonly MemoryStream _output = new();
    private readonly List<JsonElement> _frames = [];
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _reading = new(1, 1);
    private Task _loop = Task.CompletedTask;

    private TerminalConnection(ClientWebSocket socket) => _socket = socket;

    public WebSocket Socket => _socket;

    /// <summary>Completes when the server closed the socket (or it broke).</summary>
    public Task Ended => _ended.Task;

    /// <summary>Opens the terminal as the browser session whose cookie is <paramref name="cookie"/>; throws <see cref="WebSocketException"/> when the server refuses the upgrade (see <see cref="TryConnectAsync"/>).</summary>
    public static async Task<TerminalConnection> ConnectAsync(string baseUrl, string machineId, string? cookie, string? origin = null, string query = "cols=80&rows=24")
    {
        var (connection, status) = await TryConnectAsync(baseUrl, machineId, cookie, origin, query);
        return connection ?? throw new InvalidOperationException($"the upgrade was refused: {status}");
    }

    /// <summary>Opens the terminal, or gives the HTTP status of the refusal.</summary>
    public static async Task<(TerminalConnection? Connection, HttpStatusCode Status)> TryConnectAsync(
        string baseUrl, string machineId, string? cookie, string? origin = null, string query = "cols=80&rows=24")
    {
        var http = new Uri(baseUrl);
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Origin", origin ?? http.GetLeftPart(UriPartial.Authority));
        if (cookie is not null)
        {
            socket.Options.SetRequestHeader("Cookie", ConsoleCookies.SessionName + "=" + cookie);
        }

        var uri = new UriBuilder(http) { Scheme = "ws", Path = $"/console/api/machines/{machineId}/terminal", Query = query }.Uri;
        using var cts = new CancellationTokenSource(Bound);
        try
        {
            await socket.ConnectAsync(uri, cts.Token);
        }
        catch (WebSocketException)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            return (null, status);
        }

        var connection = new TerminalConnection(socket);
        connection._loop = Task.Run(connection.ReceiveLoopAsync);
        return (connection, HttpStatusCode.SwitchingProtocols);
    }

    public string Text
    {
        get
        {
            lock (_output)
            {
                return Encoding.UTF8.GetString(_output.GetBuffer(), 0, (int)_output.Length);
            }
        }
    }

    public IReadOnlyList<JsonElement> Frames
    {
        get
        {
            lock (_frames)
            {
                return [.. _frames];
            }
        }
    }

    public Task<bool> WaitForTextAsync(string text, TimeSpan? bound = null) =>
        Eventually.TrueAsync(() => Text.Contains(text, StringComparison.Ordinal), bound ?? Bound);

    /// <summary>The first control frame of <paramref name="type"/>, waiting for it.</summary>
    public async Task<JsonElement> WaitForFrameAsync(string type)
    {
        Assert.True(await Eventually.TrueAsync(() => Frames.Any(f => f.GetProperty("type").GetString() == type), Bound), $"no {type} frame; frames: {Describe()}; output: {Text}");
        return Frames.First(f => f.GetProperty("type").GetString() == type);
    }

    public string Describe() => string.Join(" ", Frames.Select(f => f.GetRawText()));

    public Task TypeAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Binary);

    public Task ResizeAsync(int columns, int rows) =>
        SendAsync(Encoding.UTF8.GetBytes($$"""{"type":"resize","cols":{{columns}},"rows":{{rows}}}"""), WebSocketMessageType.Text);

    public async Task SendAsync(byte[] data, WebSocketMessageType type)
    {
        using var cts = new CancellationTokenSource(Bound);
        await _socket.SendAsync(data, type, endOfMessage: true, cts.Token);
    }

    /// <summary>Stops reading (a slow browser): the server's sends then back up.</summary>
    public Task PauseAsync() => _reading.WaitAsync();

    public void Resume() => _reading.Release();

    /// <summary>Closes from the browser's side (a tab closed).</summary>
    public async Task CloseAsync()
    {
        using var cts = new CancellationTokenSource(Bound);
        try
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "tab closed", cts.Token);
        }
        catch (WebSocketException)
        {
        }

        await _ended.Task.WaitAsync(Bound);
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        await _loop.WaitAsync(Bound);
        _socket.Dispose();
        _reading.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                await _reading.WaitAsync();
                ValueWebSocketReceiveResult result;
                try
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                }
                finally
                {
                    _reading.Release();
                }

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        using var cts = new CancellationTokenSource(Bound);
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
                    }

                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    lock (_output)
                    {
                        _output.Write(message.GetBuffer(), 0, (int)message.Length);
                    }
                }
                else
                {
                    using var json = JsonDocument.Parse(message.ToArray());
                    lock (_frames)
                    {
                        _frames.Add(json.RootElement.Clone());
                    }
                }

                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            _ended.TrySetResult();
        }
    }
}
