using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Dedalus.Gateway.Bench;

/// <summary>
/// The other side of the pre-authentication figures, in a process of its own (so that the gateway's memory is measured
/// alone): <c>Dedalus.Gateway.Bench hold PORT COUNT SOURCES MAX_SECONDS</c> holds COUNT connections to 127.0.0.1:PORT
/// that never send a byte, spread over the source addresses 127.0.1.1 ... 127.0.1.SOURCES, reopening any the gateway
/// cuts (as an attacker would). Prints "ready" once all are open, and "reopened N" when its stdin closes or
/// MAX_SECONDS pass. Every loop is bounded in count and time.
/// </summary>
internal static class SilentClients
{
    private const int MaxReopensPerConnection = 1000;

    public static async Task<int> HoldAsync(string[] args)
    {
        var port = int.Parse(args[1], CultureInfo.InvariantCulture);
        var count = int.Parse(args[2], CultureInfo.InvariantCulture);
        var sources = int.Parse(args[3], CultureInfo.InvariantCulture);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(int.Parse(args[4], CultureInfo.InvariantCulture)));
        _ = Task.Run(async () =>
        {
            await Console.In.ReadToEndAsync(stop.Token);
            await stop.CancelAsync();
        });

        var opened = 0;
        var reopened = 0;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var gate = new SemaphoreSlim(32);
        var holders = Enumerable.Range(0, count).Select(async i =>
        {
            var source = new IPAddress([127, 0, 1, (byte)(1 + (i % sources))]);
            var first = true;
            for (var attempt = 0; attempt <= MaxReopensPerConnection && !stop.IsCancellationRequested; attempt++)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await gate.WaitAsync(stop.Token);
                    try
                    {
                        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), stop.Token);
                    }
                    finally
                    {
                        gate.Release();
                    }

                    if (first)
                    {
                        first = false;
                        if (Interlocked.Increment(ref opened) == count)
                        {
                            ready.TrySetResult();
                        }
                    }
                    else
                    {
                        Interlocked.Increment(ref reopened);
                    }

                    // Silent until the gateway closes the connection (or the run ends).
                    var sink = new byte[512];
                    while (await socket.ReceiveAsync(sink, SocketFlags.None, stop.Token) > 0)
                    {
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (SocketException)
                {
                }

                await Task.Delay(10, CancellationToken.None);
            }
        }).ToArray();

        if (await Task.WhenAny(ready.Task, Task.WhenAll(holders)) == ready.Task)
        {
            Console.WriteLine("ready");
        }

        await Task.WhenAll(holders);
        Console.WriteLine($"reopened {reopened}");
        return 0;
    }
}
