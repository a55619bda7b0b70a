using System.Net;
using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// One runc site and one <see cref="SshGateway"/> in front of it, its backend waking machines through the runtime,
/// shared by a test class (machines are created once per class where the tests allow). Client processes a test
/// starts are killed on dispose; machines, containers and mounts are removed even when a test failed.
/// </summary>
public sealed class RuncGatewayFixture : GatewayUnderTest, IAsyncLifetime
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly Lock _lock = new();
    private RuncTestSite? _site;
    private Task<MachinePair>? _pair;

    public RuncGatewayFixture()
        : base(Timeout)
    {
    }

    public RuncTestSite Site => _site ?? throw new InvalidOperationException("fixture not initialized");

    /// <summary>
    /// The gateway options: loopback, any port (a restarted gateway binds the same one again), a short identification
    /// timeout (SSH clients send their line at once; a test that waits for the timeout waits less).
    /// </summary>
    public static GatewayOptions GatewayOptions { get; } = new()
    {
        ListenAddress = IPAddress.Loopback,
        PortRangeStart = 1024,
        PortRangeEnd = 65535,
        ActivityReportInterval = TimeSpan.Zero,
        IdentificationTimeout = TimeSpan.FromSeconds(5),
    };

    protected override ISshClientSite ClientSite => Site;

    public async Task InitializeAsync()
    {
        _site = await RuncTestSite.CreateAsync("gateway-runc");
        Backend.OnWake = _site.Runtime.StartAsync;
        StartGateway(GatewayOptions, new InetdSshServerConnector(_site.Runtime));
    }

    /// <summary>Creates a machine (running unless <paramref name="start"/> is false), tells the backend, opens its gateway port.</summary>
    public async Task<(string MachineId, int Port)> AddMachineAsync(bool start = true)
    {
        var id = await Site.CreateMachineAsync(start);
        Backend.Set(id, start ? GatewayAdmission.Running : GatewayAdmission.SleepingWithLiveSession);
        var endPoint = await Gateway.OpenAsync(id, 0).WaitAsync(Timeout);
        return (id, endPoint.Port);
    }

    /// <summary>Two running machines shared by the tests of a class (created on first use).</summary>
    public Task<MachinePair> MachinePairAsync()
    {
        lock (_lock)
        {
            _pair ??= CreatePairAsync();
        }

        return _pair;

        async Task<MachinePair> CreatePairAsync()
        {
            var first = AddMachineAsync();
            var second = AddMachineAsync();
            var (a, portA) = await first;
            var (b, portB) = await second;
            return new MachinePair(a, portA, b, portB);
        }
    }

    /// <summary>Puts a machine to sleep the way the control plane does: cut its connections, stop it, record the state.</summary>
    public async Task SleepAsync(string machineId, bool liveSession)
    {
        Gateway.CloseMachineConnections(machineId);
        await Site.Runtime.StopAsync(machineId).WaitAsync(Timeout);
        Backend.Set(machineId, liveSession ? GatewayAdmission.SleepingWithLiveSession : GatewayAdmission.SleepingWithoutLiveSession);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await StopClientsAndGatewayAsync();
        }
        finally
        {
            if (_site is not null)
            {
                await _site.DisposeAsync();
            }
        }
    }
}

/// <summary>Two running machines and their gateway ports.</summary>
public sealed record MachinePair(string A, int PortA, string B, int PortB);
