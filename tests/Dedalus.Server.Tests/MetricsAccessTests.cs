using System.Net;
using System.Net.Sockets;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>Who may read <c>/metrics</c>, on real sockets: the client's source address decides.</summary>
public sealed class MetricsAccessTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new();
    private RunningServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await RunningServer.StartAsync(_data.Path, extraArgs: ["--metrics-allow", "127.0.0.1/32"]);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task A_client_outside_the_allowed_ranges_gets_the_404_of_a_missing_path_and_an_allowed_one_the_metrics()
    {
        // 127.0.0.2 is this host too, but not in the list the server was given.
        var (refusedStatus, refusedBody) = await GetFromAsync(IPAddress.Parse("127.0.0.2"), "/metrics");
        Assert.Equal(HttpStatusCode.NotFound, refusedStatus);
        Assert.Contains("\"error_code\":\"NOT_FOUND\"", refusedBody, StringComparison.Ordinal);
        Assert.DoesNotContain("dedalus_", refusedBody, StringComparison.Ordinal);

        var (allowedStatus, allowedBody) = await GetFromAsync(IPAddress.Loopback, "/metrics");
        Assert.Equal(HttpStatusCode.OK, allowedStatus);
        Assert.Contains("dedalus_reconciler_queue_depth", allowedBody, StringComparison.Ordinal);

        // The refused client still reaches the rest of the API.
        Assert.Equal(HttpStatusCode.OK, (await GetFromAsync(IPAddress.Parse("127.0.0.2"), "/healthz")).Status);
    }

    [Fact]
    public void The_allow_list_matches_ranges_and_ipv4_clients_of_a_dual_stack_socket()
    {
        var access = new Telemetry.MetricsAccess([IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("::1/128")]);
        Assert.True(access.Allows(IPAddress.Parse("10.1.2.3")));
        Assert.True(access.Allows(IPAddress.Parse("::ffff:10.1.2.3")));
        Assert.True(access.Allows(IPAddress.IPv6Loopback));
        Assert.False(access.Allows(IPAddress.Parse("11.0.0.1")));
        Assert.False(access.Allows(IPAddress.Loopback));
        Assert.False(access.Allows(null));

        var defaults = new Telemetry.MetricsAccess(Telemetry.MetricsAccess.DefaultAllowed);
        Assert.True(defaults.Allows(IPAddress.Parse("127.0.0.2")));
        Assert.True(defaults.Allows(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.False(defaults.Allows(IPAddress.Parse("192.0.2.1")));
        Assert.False(new Telemetry.MetricsAccess([]).Allows(IPAddress.Loopback));
    }

    /// <summary>A GET whose TCP connection leaves from <paramref name="source"/>.</summary>
    private async Task<(HttpStatusCode Status, string Body)> GetFromAsync(IPAddress source, string path)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(_server.BaseUrl), Timeout = RunningServer.Timeout };
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
