using Dedalus.Machines.Ssh;
using System.Diagnostics;
using System.Net;
using Dedalus.Gateway.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// One runc site, one <see cref="SshGateway"/> in front of it and a <see cref="RuncTestBackend"/>, shared by a
/// test class (machines are created once per class where the tests allow). Client processes a test starts are
/// killed on dispose; machines, containers and mounts are removed even when a test failed.
/// </summary>
public sealed class RuncGatewayFixture : IAsyncLifetime
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly List<Process> _clients = [];
    private RuncTestSite? _site;
    private RuncTestBackend? _backend;
    private SshGateway? _gateway;
    private Task<MachinePair>? _pair;

    public RuncTestSite Site => _site ?? throw new InvalidOperationException("fixture not initialized");

    public RuncTestBackend Backend => _backend ?? throw new InvalidOperationException("fixture not initialized");

    public SshGateway Gateway => _gateway ?? throw new InvalidOperationException("fixture not initialized");

    /// <summary>The gateway options: loopback, any port (a restarted gateway binds the same one again).</summary>
    public static GatewayOptions GatewayOptions { get; } = new()
    {
        ListenAddress = IPAddress.Loopback,
        PortRangeStart = 1024,
        PortRangeEnd = 65535,
        ActivityReportInterval = TimeSpan.Zero,
    };

    public async Task InitializeAsync()
    {
        _site = await RuncTestSite.CreateAsync("gateway-runc");
        _backend = new RuncTestBackend(_site.Runtime);
        _gateway = new SshGateway(GatewayOptions, new InetdSshServerConnector(_site.Runtime), _backend);
    }

    /// <summary>Creates a machine (running unless <paramref name="start"/> is false), tells the backend, opens its gateway port.</summary>
    public async Task<(string MachineId, int Port)> AddMachineAsync(bool start = true)
    {
        var id = await Site.CreateMachineAsync(start);
        Backend.Set(id, start ? RuncTestMachineState.Running : RuncTestMachineState.Sleeping, liveSession: true);
        var endPoint = await Gateway.OpenAsync(id, 0).WaitAsync(Timeout);
        return (id, endPoint.Port);
    }

    /// <summary>Two running machines shared by the tests of a class (created on first use).</summary>
    public Task<MachinePair> MachinePairAsync()
    {
        lock (_clients)
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
        Backend.Set(machineId, RuncTestMachineState.Sleeping, liveSession);
    }

    public Task<ProcessResult> SshAsync(UserIdentity identity, int port, params string[] command) =>
        ProcessRunner.RunAsync("ssh", Site.SshArguments(identity, port, command), timeout: Timeout);

    public Task<ProcessResult> ToolAsync(string tool, IEnumerable<string> arguments) =>
        ProcessRunner.RunAsync(tool, arguments, timeout: Timeout);

    /// <summary>Starts a long-running client process (killed on dispose at the latest).</summary>
    public Process StartClient(string fileName, IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"{fileName} did not start");
        lock (_clients)
        {
            _clients.Add(process);
        }

        return process;
    }

    public async Task DisposeAsync()
    {
        Process[] clients;
        lock (_clients)
        {
            clients = [.. _clients];
        }

        await GatewayHarness.StopClientsAsync(clients, Timeout);

        try
        {
            if (_gateway is not null)
            {
                await _gateway.DisposeAsync().AsTask().WaitAsync(Timeout);
            }
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
