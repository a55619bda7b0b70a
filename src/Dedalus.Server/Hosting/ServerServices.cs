using System.Net;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;
using Dedalus.Server.Auth;
using Dedalus.Server.Cluster;
using Dedalus.Server.Console;
using Dedalus.Server.Connections;
using Dedalus.Server.Executions;
using Dedalus.Server.Gateway;
using Dedalus.Server.Machines;
using Dedalus.Server.Machines.Api;
using Dedalus.Server.Networking;
using Dedalus.Server.Quotas;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Sessions;
using Dedalus.Server.Sessions.Api;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;
using Dedalus.Server.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dedalus.Server.Hosting;

/// <summary>The server's services, feature by feature (the composition root's wiring; <see cref="ServerApp"/> adds HTTP).</summary>
public static class ServerServices
{
    /// <summary>
    /// Registers every service of the control plane. The runtime and the clock are added with TryAdd, so that a host
    /// (tests, benchmarks) may register its own first or replace them afterwards.
    /// </summary>
    public static IServiceCollection AddDedalusServer(this IServiceCollection services, ServerOptions options, IStore store)
    {
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        // From a factory: the container then owns the store and closes it (its connections) when the host is disposed.
        services.AddSingleton(_ => store);
        services.AddSingleton<StoreOutageLog>();
        AddCluster(services, options);
        services.AddSingleton<ApiKeys>();
        services.AddSingleton(sp => SshAuthority.LoadOrCreate(options, sp.GetRequiredService<ILoggerFactory>().CreateLogger<SshAuthority>()));
        services.AddSingleton<SshTrustPublisher>();
        services.AddSingleton(_ => ServerSecret.LoadOrCreate(options));
        AddQuotas(services, options);
        AddMachines(services);
        AddSessions(services);
        AddExecutions(services);
        AddReconciliation(services);
        AddRuntime(services, options);
        AddGateway(services, options);
        AddMetrics(services, options);
        services.AddDedalusConsole();
        services.AddSshConnections();
        Console.Terminal.TerminalServices.AddConsoleTerminal(services);
        return services;
    }

    /// <summary>
    /// This server as a node of the store it shares: its id, registration and heartbeat (started before anything that
    /// reads machines, so the machines it adopts are its own), placement, and the signals between nodes: LISTEN/NOTIFY on
    /// a PostgreSQL store, none on the embedded one (it has one node).
    /// </summary>
    private static void AddCluster(IServiceCollection services, ServerOptions options)
    {
        services.TryAddSingleton(_ => LocalNode.LoadOrCreate(options.DataDirectory));
        services.AddSingleton<NodeDirectory>();
        services.AddSingleton<MachinePlacer>();
        services.AddSingleton<NodeHeartbeat>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeHeartbeat>());
        if (options.Database is { } database)
        {
            services.TryAddSingleton<IClusterBus>(sp => new PostgresClusterBus(database, sp.GetRequiredService<LocalNode>(), sp.GetRequiredService<ILogger<PostgresClusterBus>>()));
        }
        else
        {
            services.TryAddSingleton<IClusterBus, LocalClusterBus>();
        }

        services.AddHostedService<ClusterSignalRouter>();
    }

    private static void AddQuotas(IServiceCollection services, ServerOptions options)
    {
        // The real host; a test may register a fixed one first.
        var runtime = new RuncRuntimeOptions { DataDirectory = ServerConfiguration.RuntimeDirectory(options) };
        services.TryAddSingleton<IHostResources>(new HostResources(options.DataDirectory, options.StorageOvercommit, () => RuncMachineRuntime.HomeImageBytes(runtime)));
        services.AddSingleton<QuotaService>();
        services.AddHostedService<QuotaStartup>();
    }

    private static void AddMachines(IServiceCollection services)
    {
        services.AddSingleton<MachineChangeFeed>();
        services.AddSingleton(sp => new MachineWriter(
            sp.GetRequiredService<IStore>(), sp.GetRequiredService<MachineChangeFeed>(), sp.GetRequiredService<IClusterBus>(), MachineMapper.ToJson));
        services.AddSingleton<MachineActivity>();
        services.AddSingleton<MachineService>();
    }

    private static void AddSessions(IServiceCollection services)
    {
        services.AddSingleton<SessionLifecycle>();
        services.AddSingleton<SshSessionService>();
        services.AddSingleton<SshSessionMapper>();
    }

    private static void AddExecutions(IServiceCollection services)
    {
        services.AddSingleton<ExecutionChangeFeed>();
        services.AddSingleton<ExecutionSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<ExecutionSupervisor>());
        services.AddSingleton<ExecutionService>();
        services.AddSingleton<ExecutionLogTokens>();
        services.AddSingleton<ExecutionInputSeal>();
    }

    private static void AddReconciliation(IServiceCollection services)
    {
        services.AddSingleton<MachineWorkQueue>();
        services.AddSingleton<GatewayPortRecovery>();
        services.AddSingleton<HostIdentityRotation>();
        // Before the reconciler: machines it adopts find their network restored; after it at stop.
        services.AddHostedService<MachineNetworkLifetime>();
        services.AddSingleton<Reconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<Reconciler>());
        services.AddSingleton<MaintenanceService>();
        services.AddHostedService(sp => sp.GetRequiredService<MaintenanceService>());
        services.AddSingleton<MemoryAutoresizer>();
        services.AddHostedService(sp => sp.GetRequiredService<MemoryAutoresizer>());
    }

    private static void AddRuntime(IServiceCollection services, ServerOptions options)
    {
        // Options are validated: runc is the only engine so far.
        services.AddSingleton<MachineNetworking>();
        services.TryAddSingleton<IMachineRuntime>(sp => new RuncMachineRuntime(
            new RuncRuntimeOptions
            {
                DataDirectory = ServerConfiguration.RuntimeDirectory(options),
                Network = sp.GetRequiredService<MachineNetworking>().RuntimeOptions,
                MachineUids = options.MachineUids,
            },
            sp.GetRequiredService<ILogger<RuncMachineRuntime>>()));
        services.TryAddSingleton<ISshServerConnector>(sp => SshServerConnector(sp, options));
    }

    /// <summary>
    /// The gateway's way to a machine's sshd: with machine networking, the listening connector (one sshd per machine,
    /// reached at its stored address), falling back per connection to <c>sshd -i</c>; without, <c>sshd -i</c> only.
    /// </summary>
    private static ISshServerConnector SshServerConnector(IServiceProvider services, ServerOptions options)
    {
        var runtime = services.GetRequiredService<IMachineRuntime>();
        var inetd = new InetdSshServerConnector(runtime);
        var networking = services.GetRequiredService<MachineNetworking>();
        if (networking.RuntimeOptions is not { } network || options.GatewaySshd == GatewaySshdModes.Inetd)
        {
            return inetd;
        }

        var store = services.GetRequiredService<IStore>();
        return new ListeningSshServerConnector(
            runtime,
            async (machineId, cancellationToken) =>
                await store.GetMachineAsync(machineId, cancellationToken).ConfigureAwait(false) is { } machine && networking.Holds(machine.NetworkAddress)
                    ? new IPEndPoint(IPAddress.Parse(machine.NetworkAddress!), MachineSshd.ListenPort)
                    : null,
            network.GatewayAddress,
            inetd,
            services.GetRequiredService<ILoggerFactory>().CreateLogger<ListeningSshServerConnector>());
    }

    private static void AddGateway(IServiceCollection services, ServerOptions options)
    {
        if (options.Gateway)
        {
            services.AddSingleton<GatewayBackend>();
            services.AddSingleton<GatewayService>();
            services.AddSingleton<IMachinePorts>(sp => sp.GetRequiredService<GatewayService>());
            services.AddSingleton<ISessionConnections>(sp => sp.GetRequiredService<GatewayService>());
            services.AddSingleton<IOpenConnections>(sp => sp.GetRequiredService<GatewayService>());
            services.AddSingleton<ILiveConnections>(sp => sp.GetRequiredService<GatewayService>());
            services.AddHostedService(sp => sp.GetRequiredService<GatewayService>());
        }
        else
        {
            services.AddSingleton<NoGateway>();
            services.AddSingleton<IMachinePorts>(sp => sp.GetRequiredService<NoGateway>());
            services.AddSingleton<ISessionConnections>(sp => sp.GetRequiredService<NoGateway>());
            services.AddSingleton<IOpenConnections>(sp => sp.GetRequiredService<NoGateway>());
            services.AddSingleton<ILiveConnections>(sp => sp.GetRequiredService<NoGateway>());
        }
    }

    /// <summary>ASP.NET Core's own meters: HTTP requests (<c>http.server.request.duration</c>, by route template and status) and Kestrel's connections.</summary>
    private static readonly string[] AspNetCoreMeters = ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>
    /// The meters' owners (one per area, <see cref="DedalusMeters"/>, and the gateway's) and, unless
    /// <see cref="ServerOptions.Metrics"/> is off, OpenTelemetry metrics with its Prometheus exporter, which
    /// <c>MetricsApi</c> serves at <c>/metrics</c>. The instruments exist either way: a measurement nobody listens to costs
    /// a branch.
    /// </summary>
    private static void AddMetrics(IServiceCollection services, ServerOptions options)
    {
        services.AddMetrics();
        services.AddSingleton<MachineMetrics>();
        services.AddSingleton<SessionMetrics>();
        services.AddSingleton<ReconcilerMetrics>();
        services.AddSingleton<Dedalus.Gateway.GatewayMetrics>();
        if (!options.Metrics)
        {
            return;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("dedalus-server", serviceInstanceId: options.NodeName, autoGenerateServiceInstanceId: false))
            .WithMetrics(metrics => metrics
                .AddMeter([DedalusMeters.Machines, DedalusMeters.Sessions, DedalusMeters.Reconciler, Dedalus.Gateway.GatewayMetrics.MeterName, .. AspNetCoreMeters])
                .AddPrometheusExporter());
        services.ConfigureOpenTelemetryMeterProvider((sp, builder) =>
        {
            // Meters are process-wide: OpenTelemetry listens by name to every meter of that name, those of another host
            // in the same process too (the tests run several servers in one). This container's meters come from its own
            // factory, so keeping only the instruments of that factory reports this server alone.
            var factory = sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
            builder.AddView(instrument => ReferenceEquals(instrument.Meter.Scope, factory) ? null : MetricStreamConfiguration.Drop);
        });
    }
}
