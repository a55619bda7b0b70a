using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>
/// What every gateway test bed has: an <see cref="SshGateway"/> with a <see cref="RecordingBackend"/> behind it, and
/// the OpenSSH clients a test runs through it, to completion (bounded) or held open (killed when the bed goes).
/// </summary>
public abstract class GatewayUnderTest
{
    private readonly ProcessGroup _clients = new();
    private readonly TimeSpan _timeout;
    private SshGateway? _gateway;

    protected GatewayUnderTest(TimeSpan timeout) => _timeout = timeout;

    public RecordingBackend Backend { get; } = new();

    public SshGateway Gateway => _gateway ?? throw new InvalidOperationException("the gateway has not been started");

    /// <summary>Where the clients log in.</summary>
    protected abstract ISshClientSite ClientSite { get; }

    public Task<ProcessResult> SshAsync(UserIdentity identity, int port, params string[] command) =>
        ProcessRunner.RunAsync("ssh", ClientSite.SshArguments(identity, port, command), timeout: _timeout);

    public Task<ProcessResult> ToolAsync(string tool, IEnumerable<string> arguments, string? standardInput = null) =>
        ProcessRunner.RunAsync(tool, arguments, standardInput, _timeout);

    /// <summary>Starts a long-running client process (killed with its descendants when the bed goes, at the latest).</summary>
    public TestProcess StartClient(string fileName, IEnumerable<string> arguments) => _clients.Start(fileName, arguments);

    /// <summary>Starts <c>ssh</c> with <paramref name="arguments"/>, held open, and waits until the gateway counts the connection of the identity's session.</summary>
    public async Task<TestProcess> StartSessionAsync(UserIdentity identity, IEnumerable<string> arguments)
    {
        var ssh = StartClient("ssh", arguments);
        if (!await Eventually.TrueAsync(() => Gateway.GetSessionConnectionCount(identity.SessionId) == 1, _timeout))
        {
            throw new TimeoutException($"the gateway never counted a connection of session {identity.SessionId}");
        }

        return ssh;
    }

    /// <summary>Closes a session's connections and waits for the held-open <paramref name="client"/> to end; returns how many were cut and the client's exit code.</summary>
    public async Task<(int Cut, int ClientExitCode)> CloseSessionAsync(string sessionId, TestProcess client)
    {
        var cut = await Gateway.CloseSessionConnectionsAsync(sessionId).WaitAsync(_timeout);
        return (cut, await client.WaitForExitAsync(_timeout));
    }

    protected void StartGateway(GatewayOptions options, ISshServerConnector connector, TimeProvider? timeProvider = null, GatewayMetrics? metrics = null) =>
        _gateway = new SshGateway(options, connector, Backend, timeProvider, metrics: metrics);

    /// <summary>Kills the clients a test left running, then closes the gateway (bounded).</summary>
    protected async Task StopClientsAndGatewayAsync()
    {
        await _clients.DisposeAsync();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync().AsTask().WaitAsync(_timeout);
        }
    }
}
