using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Tests;

/// <summary>
/// The smallest gateway: a listener on 127.0.0.1:0 that, per connection, starts <c>sshd -i</c> inside a machine with
/// ExecAsync and pumps bytes both ways; sshd's stderr (its log) is kept for assertions.
/// </summary>
public sealed class InetdGateway : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IMachineRuntime _runtime;
    private readonly string _machineId;
    private readonly CancellationTokenSource _stop = new();  // never disposed: it has no timer, and DisposeAsync may run twice
    private readonly ConcurrentQueue<string> _logs = new();
    private readonly Task _accepting;

    public InetdGateway(IMachineRuntime runtime, string machineId)
    {
        _runtime = runtime;
        _machineId = machineId;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Everything sshd wrote to stderr, per finished connection.</summary>
    public string SshdLog => string.Join("\n---\n", _logs);

    private async Task AcceptAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                connections.Add(ServeAsync(client));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        await using var sshd = await _runtime.ExecAsync(_machineId, new MachineExecRequest(MachineSshd.InetdArguments));
        var network = client.GetStream();
        var stderr = new StreamReader(sshd.StandardError).ReadToEndAsync();
        var toSshd = Task.Run(async () =>
        {
            try
            {
                await network.CopyToAsync(sshd.StandardInput, _stop.Token);
            }
            catch (IOException)
            {
            }
            catch (OperationCanceledException)
            {
            }

            await sshd.StandardInput.DisposeAsync();
        });
        try
        {
            await sshd.StandardOutput.CopyToAsync(network, _stop.Token);
        }
        catch (IOException)
        {
        }
        catch (OperationCanceledException)
        {
        }

        client.Client.Shutdown(SocketShutdown.Both);
        sshd.Kill();
        await sshd.Exited.WaitAsync(TimeSpan.FromSeconds(30));
        _logs.Enqueue(await stderr.WaitAsync(TimeSpan.FromSeconds(30)));
        await toSshd.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
    }
}
