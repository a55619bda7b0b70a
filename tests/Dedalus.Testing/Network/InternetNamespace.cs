using System.Globalization;
using System.Net.Sockets;

namespace Dedalus.Testing.Network;

/// <summary>
/// A network namespace that plays "the internet" for one <see cref="NetworkTestSlot"/>: a veth to the host (the slot's
/// /30 from 198.51.100.0/24), also carrying a "private" address (<see cref="PrivateAddress"/>, 10.99.0.1) and the cloud
/// metadata address (<see cref="MetadataAddress"/>, 169.254.169.254), and serving on all of them HTTP on port 80 (the
/// body: the client address it saw) and DNS on its own address (<see cref="TestName"/> resolves to
/// <see cref="Address"/>, nothing else resolves).
/// </summary>
/// <remarks>
/// Policy routing keeps every packet a machine of the slot's subnet sends on this host: whatever is forwarded from the
/// subnet looks up the slot's table, whose default route leads into this namespace (the subnet itself is thrown back to
/// the main table, so machine-to-machine traffic still meets the rules under test). A policy bug therefore delivers a
/// packet here, never off the host. Locally generated traffic from the subnet (the host's gateway address) uses the
/// main table. Dispose removes the namespace, its processes, the link, the rules and the table.
/// </remarks>
public sealed class InternetNamespace : IAsyncDisposable
{
    public const string PrivateAddress = "10.99.0.1";

    public const string MetadataAddress = "169.254.169.254";

    public const string TestName = "test.example";

    private const string HttpServer = """
        import http.server, socketserver
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = (self.client_address[0] + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
        Server(("0.0.0.0", 80), Handler).serve_forever()
        """;

    private readonly List<TestProcess> _processes = [];

    private InternetNamespace(NetworkTestSlot slot) => Slot = slot;

    public NetworkTestSlot Slot { get; }

    /// <summary>The namespace's name.</summary>
    public string Name => Slot.InternetNamespace;

    /// <summary>Its own address: the HTTP and DNS server, the DNS upstream to configure.</summary>
    public string Address => Slot.InternetAddress;

    /// <summary>The host's address on the link (what the namespace sees as the client of masqueraded traffic).</summary>
    public string HostLinkAddress => Slot.HostLinkAddress;

    /// <summary>Creates the namespace, link, routing and servers; waits until HTTP and DNS listen.</summary>
    public static async Task<InternetNamespace> CreateAsync(NetworkTestSlot slot)
    {
        var internet = new InternetNamespace(slot);
        try
        {
            await internet.SetUpAsync();
        }
        catch
        {
            await internet.DisposeAsync();
            throw;
        }

        return internet;
    }

    /// <summary>Starts an iperf3 server in the namespace on its address (one test, then it exits), waits until it listens.</summary>
    public async Task<TestProcess> StartIperfServerAsync(int port = 5201)
    {
        var server = Start("iperf3", "-s", "-1", "-B", Address, "-p", port.ToString(CultureInfo.InvariantCulture));
        await WaitListeningAsync("tcp", port);
        return server;
    }

    /// <summary>Runs a command inside the namespace.</summary>
    public Task<ProcessResult> ExecAsync(params string[] arguments) => NetNs.ExecAsync(Name, arguments);

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        await Slot.CleanAsync();
    }

    private async Task SetUpAsync()
    {
        var link = Slot.InternetLink;
        var table = Slot.RoutingTable.ToString(CultureInfo.InvariantCulture);
        await Checked("ip", "netns", "add", Name);
        await Checked("ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", Name);
        foreach (var setting in new[] { $"/proc/sys/net/ipv6/conf/{link}/disable_ipv6" })
        {
            if (File.Exists(setting))
            {
                await File.WriteAllTextAsync(setting, "1");
            }
        }

        await Checked("ip", "addr", "add", $"{Slot.HostLinkAddress}/30", "dev", link);
        await Checked("ip", "link", "set", link, "up");
        await Checked("ip", "-n", Name, "link", "set", "lo", "up");
        await Checked("ip", "-n", Name, "addr", "add", $"{Address}/30", "dev", "eth0");
        await Checked("ip", "-n", Name, "addr", "add", $"{PrivateAddress}/32", "dev", "lo");
        await Checked("ip", "-n", Name, "addr", "add", $"{MetadataAddress}/32", "dev", "lo");
        await Checked("ip", "-n", Name, "link", "set", "eth0", "up");
        await Checked("ip", "-n", Name, "route", "add", "default", "via", Slot.HostLinkAddress);

        await Checked("ip", "route", "add", "default", "via", Address, "dev", link, "table", table);
        await Checked("ip", "route", "add", "throw", Slot.MachineSubnet, "table", table);
        await Checked("ip", "rule", "add", "priority", Slot.RulePriority.ToString(CultureInfo.InvariantCulture),
            "from", Slot.MachineSubnet, "iif", "lo", "lookup", "main");
        await Checked("ip", "rule", "add", "priority", (Slot.RulePriority + 1).ToString(CultureInfo.InvariantCulture),
            "from", Slot.MachineSubnet, "lookup", table);

        Start("python3", "-c", HttpServer);
        Start("dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
            $"--listen-address={Address}", $"--address=/{TestName}/{Address}", "--pid-file=", "--user=root");
        await WaitListeningAsync("tcp", 80);
        await WaitListeningAsync("udp", 53);
    }

    private TestProcess Start(params string[] arguments)
    {
        // nsenter --net only (see NetNs.ExecAsync): a long-lived server in a mount namespace of its own would keep every
        // machine home mounted at its start alive, with its loop device, until it ends.
        var process = TestProcess.Start("nsenter", [$"--net=/run/netns/{Name}", .. arguments], drainOutput: true);
        _processes.Add(process);
        return process;
    }

    private async Task WaitListeningAsync(string protocol, int port)
    {
        var suffix = ":" + port.ToString(CultureInfo.InvariantCulture);
        var listening = await Eventually.TrueAsync(async () =>
        {
            var sockets = await ExecAsync("ss", protocol == "tcp" ? "-Hltn" : "-Hlun");
            return sockets.StandardOutput.Split('\n').Any(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: > 3 } f && f[3].EndsWith(suffix, StringComparison.Ordinal));
        });
        if (!listening)
        {
            var output = string.Join('\n', _processes.Select(p => $"{p.CommandLine}: {p.Errors.Text}"));
            throw new SocketException((int)SocketError.ConnectionRefused, $"nothing listens on {protocol}{suffix} in {Name}: {output}");
        }
    }

    private static async Task Checked(string fileName, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(fileName, arguments);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)}: {result}");
        }
    }
}
