using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>A gateway under test on 127.0.0.1 with a host-sshd runtime and a recording backend.</summary>
public sealed class GatewayHarness : GatewayUnderTest, IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public GatewayHarness(SshTestSite site, GatewayOptions? options = null, TimeProvider? timeProvider = null, GatewayMetrics? metrics = null)
        : base(Timeout)
    {
        Site = site;
        Options = (options ?? new GatewayOptions()) with { ListenAddress = IPAddress.Loopback };
        StartGateway(Options, Sshd, timeProvider, metrics);
    }

    public SshTestSite Site { get; }

    public GatewayOptions Options { get; }

    public HostSshdConnector Sshd { get; } = new();

    protected override ISshClientSite ClientSite => Site;

    /// <summary>Adds a machine (config, runtime, backend answer) and opens its gateway port; returns the port.</summary>
    public async Task<int> AddMachineAsync(string machineId, GatewayAdmission admission = GatewayAdmission.Running)
    {
        var config = Site.AddMachine(machineId);
        Sshd.AddMachine(machineId, config, running: admission == GatewayAdmission.Running);
        Backend.Set(machineId, admission);
        var endPoint = await Gateway.OpenAsync(machineId, 0).WaitAsync(Timeout);
        return endPoint.Port;
    }

    /// <summary>The identification line the raw test clients send.</summary>
    public static readonly byte[] ClientIdentification = "SSH-2.0-DedalusGatewayTest\r\n"u8.ToArray();

    /// <summary>Opens a raw TCP connection to a gateway port, from <paramref name="source"/> (another 127.x address) when given.</summary>
    public static async Task<Socket> ConnectAsync(int port, IPAddress? source = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }

            using var cts = new CancellationTokenSource(Timeout);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects and sends the identification line, as SSH clients do at once; nothing read yet.</summary>
    public static async Task<Socket> ConnectAndIdentifyAsync(int port, IPAddress? source = null)
    {
        var socket = await ConnectAsync(port, source);
        using var cts = new CancellationTokenSource(Timeout);
        await socket.SendAsync(ClientIdentification, SocketFlags.None, cts.Token);
        return socket;
    }

    /// <summary>Reads until end of stream (bounded, a reset counts as the end); returns everything read as Latin-1 text.</summary>
    public static async Task<string> ReadAllTextAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var received = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                received.AddRange(buffer.AsSpan(0, read));
            }
        }
        catch (SocketException)
        {
        }

        return Encoding.Latin1.GetString([.. received]);
    }

    /// <summary>Reads one CRLF/LF-terminated line (bounded), or null at end of stream.</summary>
    public static async Task<string?> ReadLineAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            var read = await socket.ReceiveAsync(one, SocketFlags.None, cts.Token);
            if (read == 0)
            {
                return line.Length == 0 ? null : line.ToString();
            }

            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }
    }

    /// <summary>Reads until end of stream (bounded); returns the bytes read.</summary>
    public static async Task<int> ReadToEndAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var buffer = new byte[4096];
        var total = 0;
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (read == 0)
            {
                return total;
            }

            total += read;
        }
    }

    /// <summary>
    /// Completes the version exchange with sshd (the client's line first: the gateway starts sshd only after it); returns
    /// the socket and sshd's version line. The connection then holds a handshake slot until it ends.
    /// </summary>
    public static async Task<(Socket Socket, string Banner)> ConnectPastBannerAsync(int port, IPAddress? source = null)
    {
        var socket = await ConnectAndIdentifyAsync(port, source);
        var banner = await ReadLineAsync(socket) ?? throw new InvalidOperationException("no banner");
        return (socket, banner);
    }

    /// <summary>
    /// Sends <paramref name="message"/> into a local port forward and reads the answer, retrying while ssh is
    /// still setting up its local listener; an empty result means it never answered.
    /// </summary>
    public static async Task<byte[]> RoundTripThroughForwardAsync(int localPort, byte[] message)
    {
        var answer = Array.Empty<byte>();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                using var client = await ConnectAsync(localPort);
                using var cts = new CancellationTokenSource(Timeout);
                await client.SendAsync(message, SocketFlags.None, cts.Token);
                client.Shutdown(SocketShutdown.Send);
                var buffer = new byte[message.Length];
                var total = 0;
                int read;
                while (total < buffer.Length && (read = await client.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, cts.Token)) > 0)
                {
                    total += read;
                }

                answer = buffer[..total];
                return total > 0;
            }
            catch (SocketException)
            {
                return false; // ssh is still setting up its local listener
            }
        }, Timeout);
        return answer;
    }

    public static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        await StopClientsAndGatewayAsync();
        Sshd.KillAll();
    }
}
