using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// Real runc machines with a network (a <see cref="Dedalus.Testing.Network.NetworkTestSlot"/>) and the real gateway in
/// front of them through the <see cref="ListeningSshServerConnector"/>: one <c>sshd -D -e</c> per machine on its
/// address, port 22, connections from the slot's gateway address, <c>sshd -i</c> (counted) as the fallback. A wake
/// prepares the daemon as the server does. Everything is removed on dispose, even after a failed test.
/// </summary>
public sealed class RuncListeningGatewayFixture : GatewayUnderTest, IAsyncLifetime
{
    public static readonly TimeSpan Timeout = RuncGatewayFixture.Timeout;

    /// <summary>The login deadline of this gateway: long enough for a busy host, short enough for a test that waits for it.</summary>
    public static readonly TimeSpan AuthenticationTimeout = TimeSpan.FromSeconds(20);

    private RuncTestSite? _site;

    public RuncListeningGatewayFixture()
        : base(Timeout)
    {
    }

    public RuncTestSite Site => _site ?? throw new InvalidOperationException("fixture not initialized");

    public ListeningSshServerConnector Connector { get; private set; } = null!;

    /// <summary>The sshd -i path, counted: each count is a connection that did not go through the daemon.</summary>
    public CountingConnector Fallback { get; private set; } = null!;

    protected override ISshClientSite ClientSite => Site;

    public async Task InitializeAsync()
    {
        _site = await RuncTestSite.CreateAsync("gateway-listen", network: true);
        Fallback = new CountingConnector(new InetdSshServerConnector(_site.Runtime));
        Connector = NewConnector();
        Backend.OnWake = async (id, cancellationToken) =>
        {
            await _site.Runtime.StartAsync(id, cancellationToken);
            await Connector.PrepareAsync(id, cancellationToken);
        };
        StartGateway(RuncGatewayFixture.GatewayOptions with { AuthenticationTimeout = AuthenticationTimeout }, Connector);
    }

    /// <summary>Another connector on the same runtime and fallback, as a restarted server makes one (the caller disposes it).</summary>
    public ListeningSshServerConnector NewConnector() =>
        new(Site.Runtime, (id, _) => ValueTask.FromResult(Site.SshEndPointOf(id)), Site.GatewayAddress, Fallback);

    /// <summary>Creates a machine (running unless <paramref name="start"/> is false), tells the backend, opens its gateway port.</summary>
    public async Task<(string MachineId, int Port)> AddMachineAsync(bool start = true)
    {
        var id = await Site.CreateMachineAsync(start);
        Backend.Set(id, start ? GatewayAdmission.Running : GatewayAdmission.SleepingWithLiveSession);
        var endPoint = await Gateway.OpenAsync(id, 0).WaitAsync(Timeout);
        return (id, endPoint.Port);
    }

    /// <summary>Runs a bash script as root inside the machine; returns its exit code, stdout and stderr.</summary>
    public async Task<(int ExitCode, string Output, string Error)> RootInsideAsync(string machineId, string script)
    {
        await using var process = await Site.Runtime.ExecAsync(machineId, new MachineExecRequest(["bash", "-c", script], "root")).WaitAsync(Timeout);
        await process.StandardInput.DisposeAsync();
        using var cts = new CancellationTokenSource(Timeout);
        var output = new StreamReader(process.StandardOutput).ReadToEndAsync(cts.Token);
        var error = new StreamReader(process.StandardError).ReadToEndAsync(cts.Token);
        var exitCode = await process.Exited.WaitAsync(Timeout);
        return (exitCode, await output, await error);
    }

    /// <summary>The command lines of the machine's processes (<c>ps -eo pid=,ppid=,args=</c> inside, as root).</summary>
    public async Task<string[]> ProcessesInsideAsync(string machineId)
    {
        var (exitCode, output, error) = await RootInsideAsync(machineId, "ps -eo pid=,ppid=,args=");
        Assert.True(exitCode == 0, error);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await StopClientsAndGatewayAsync();
            if (Connector is not null)
            {
                await Connector.DisposeAsync();
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
