using System.Diagnostics;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Runtime;

namespace Dedalus.Server.Networking;

/// <summary>
/// The host side of machine networking across the server's life: at start (before the reconciler adopts machines) the
/// nft table is rendered again from the machines' records, running machines' links are checked and the DNS forwarder
/// adopted or started; at stop the shared parts go when no machine of this server runs (machines left running, as
/// in a restart, keep their network). Nothing with networking off or another engine.
/// </summary>
public sealed class MachineNetworkLifetime(IMachineRuntime runtime, MachineNetworking networking, ILogger<MachineNetworkLifetime> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!networking.Enabled || runtime is not RuncMachineRuntime runc || networking.RuntimeOptions is not { } options)
        {
            return;
        }

        var stopwatch = Stopwatch.StartNew();
        await runc.RestoreNetworkAsync(cancellationToken).ConfigureAwait(false);
        ServerLog.NetworkReady(logger, options.Subnet.ToString(), options.GatewayAddress.ToString(), options.Instance, stopwatch.ElapsedMilliseconds);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!networking.Enabled || runtime is not RuncMachineRuntime runc || networking.RuntimeOptions is not { } options)
        {
            return;
        }

        try
        {
            await runc.ShutdownNetworkAsync(cancellationToken).ConfigureAwait(false);
            ServerLog.NetworkShutDown(logger, options.Instance);
        }
        catch (Exception e) when (e is MachineRuntimeException or IOException or OperationCanceledException)
        {
            ServerLog.NetworkShutdownFailed(logger, options.Instance, e);
        }
    }
}
