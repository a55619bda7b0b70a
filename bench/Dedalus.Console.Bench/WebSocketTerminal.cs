using System.Net.WebSockets;
using System.Text;

namespace Dedalus.Console.Bench;

/// <summary>
/// The console's terminal WebSocket without a browser: the browser session's cookie and the console's own origin, binary
/// frames both ways. It separates what the server's bridge costs from what the browser (xterm.js, rendering) adds.
/// </summary>
internal sealed class WebSocketTerminal : EchoingTerminal
{
    private readonly ClientWebSocket _socket;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reader;

    private WebSocketTerminal(ClientWebSocket socket, TimeSpan patience)
        : base(patience)
    {
        _socket = socket;
        _reader = Task.Run(ReadAsync);
    }

    public static async Task<WebSocketTerminal> OpenAsync(string baseUrl, string cookie, string machineId, TimeSpan patience)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Cookie", "dedalus_console=" + cookie);
        socket.Options.SetRequestHeader("Origin", baseUrl);
        var url = new Uri(baseUrl.Replace("http", "ws", StringComparison.Ordinal) + $"/console/api/machines/{Uri.EscapeDataString(machineId)}/terminal?cols=120&rows=40");
        using (var timeout = new CancellationTokenSource(patience))
        {
            await socket.ConnectAsync(url, timeout.Token);
        }

        var terminal = new WebSocketTerminal(socket, patience);
        await terminal._ready.Task.WaitAsync(patience);
        await terminal.WaitForPromptAsync();
        return terminal;
    }

    public override async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(Patience))
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bench done", timeout.Token);
        }

        await _reader.WaitAsync(Patience);
        _socket.Dispose();
    }

    protected override Task SendAsync(byte[] bytes) => _socket.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);

    private async Task ReadAsync()
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    Received(buffer[..result.Count]);
                }
                else if (Encoding.UTF8.GetString(buffer, 0, result.Count).Contains("\"ready\"", StringComparison.Ordinal))
                {
                    _ready.TrySetResult();
                }
            }
        }
        catch (WebSocketException)
        {
            // The server went away.
        }

        _ready.TrySetException(new InvalidOperationException("the terminal closed before it was ready"));
        Ended();
    }
}
