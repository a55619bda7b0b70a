using System.Net;
using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>
/// A gateway under test whose connector is the real <see cref="ListeningSshServerConnector"/>: per machine one host
/// <c>sshd -D -e</c> on 127.0.0.2:&lt;free port&gt; (the "machine's address"), connections bound to 127.0.0.1 (the
/// "gateway address"), and the inetd path (<see cref="HostSshdConnector"/>) as the fallback.
/// </summary>
public sealed class ListeningGatewayHarness : GatewayUnderTest, IAsyncDisposable
{
    public static readonly IPAddress MachineAddress = IPAddress.Parse("127.0.0.2");

    private readonly Dictionary<string, IPEndPoint> _endPoints = new(StringComparer.Ordinal);

    public ListeningGatewayHarness(SshTestSite site, GatewayOptions? options = null)
        : base(GatewayHarness.Timeout)
    {
        Site = site;
        Connector = new ListeningSshServerConnector(Runtime, EndPointOfAsync, IPAddress.Loopback, Fallback);
        StartGateway((options ?? new GatewayOptions()) with { ListenAddress = IPAddress.Loopback }, Connector);
    }

    public SshTestSite Site { get; }

    public HostSshdDaemonRuntime Runtime { get; } = new();

    public HostSshdConnector Fallback { get; } = new();

    public ListeningSshServerConnector Connector { get; }

    protected override ISshClientSite ClientSite => Site;

    /// <summary>Adds a machine with a network (its sshd endpoint on 127.0.0.2) and opens its gateway port; returns the port and the endpoint.</summary>
    public async Task<(int Port, IPEndPoint SshEndPoint)> AddMachineAsync(string machineId)
    {
        var config = Site.AddMachine(machineId);
        Runtime.AddMachine(machineId, config);
        Fallback.AddMachine(machineId, config);
        Backend.Set(machineId, GatewayAdmission.Running);
        var endPoint = new IPEndPoint(MachineAddress, FreePort.Next());
        lock (_endPoints)
        {
            _endPoints[machineId] = endPoint;
        }

        var listener = await Gateway.OpenAsync(machineId, 0).WaitAsync(GatewayHarness.Timeout);
        return (listener.Port, endPoint);
    }

    public async ValueTask DisposeAsync()
    {
        await StopClientsAndGatewayAsync();
        await Connector.DisposeAsync();
        await Runtime.DisposeAsync();
        Fallback.KillAll();
    }

    private ValueTask<IPEndPoint?> EndPointOfAsync(string machineId, CancellationToken cancellationToken)
    {
        lock (_endPoints)
        {
            return ValueTask.FromResult(_endPoints.GetValueOrDefault(machineId));
        }
    }
}
