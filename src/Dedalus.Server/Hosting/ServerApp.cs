using Dedalus.Contracts;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;
using Dedalus.Server.Auth;
using Dedalus.Server.Gateway;
using Dedalus.Server.Http;
using Dedalus.Server.Machines;
using Dedalus.Server.Machines.Api;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Sessions;
using Dedalus.Server.Sessions.Api;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;
using Dedalus.Server.Store.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dedalus.Server.Hosting;

/// <summary>The composition root: API, reconciler, maintenance, gateway and runtime in one process.</summary>
public static class ServerApp
{
    /// <summary>Builds the application from a command line; <paramref name="configure"/> may replace services (tests: clock, runtime, logging).</summary>
    /// <exception cref="ServerConfigurationException">The command line or the configuration has bad values; nothing was created.</exception>
    public static Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default) =>
        BuildAsync(ServerCommand.ParseServerArguments(args), configure, cancellationToken);

    /// <inheritdoc cref="BuildAsync(string[], Action{WebApplicationBuilder}?, CancellationToken)"/>
    public static async Task<WebApplication> BuildAsync(ServerArguments arguments, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [.. arguments.ConfigurationArgs] });

        // Precedence: command-line options, then --Section:Key arguments, then DEDALUS_* variables, then appsettings.json.
        builder.Configuration.AddInMemoryCollection(ServerConfiguration.FromEnvironment());
        builder.Configuration.AddCommandLine([.. arguments.ConfigurationArgs]);
        builder.Configuration.AddInMemoryCollection(arguments.Values);
        var (options, errors) = ServerConfiguration.Read(builder.Configuration, arguments);
        if (errors.Count == 0)
        {
            errors = await ServerConfiguration.CheckHostAsync(options, cancellationToken).ConfigureAwait(false);
        }

        if (errors.Count > 0)
        {
            throw new ServerConfigurationException(errors);
        }

        if (options.Listen is { } listen)
        {
            builder.WebHost.UseUrls(ServerConfiguration.ListenUrl(listen));
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 1024 * 1024;
        });

        Directory.CreateDirectory(options.DataDirectory);
        // 0711: others may traverse (runc's mapped root must reach the machine bundles) but not list;
        // secrets below are protected by their own modes (ca/ 0700, keys and database 0600).
        File.SetUnixFileMode(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var store = await SqliteStore.OpenAsync(options.DataDirectory, cancellationToken).ConfigureAwait(false);

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        var services = builder.Services;
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IStore>(store);
        services.AddSingleton<ApiKeys>();
        services.AddSingleton(sp => SshAuthority.LoadOrCreate(options, sp.GetRequiredService<ILoggerFactory>().CreateLogger<SshAuthority>()));
        services.AddSingleton<SshTrustPublisher>();
        AddMachines(services);
        AddSessions(services);
        AddReconciliation(services);
        AddRuntime(services, options);
        AddGateway(services, options);
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, DedalusJsonContext.Default));
        services.AddOpenApi();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<ErrorHandlingMiddleware>();
        app.UseMiddleware<AuthenticationMiddleware>();
        app.UseMiddleware<IdempotencyMiddleware>();
        app.MapOpenApi();
        app.MapHealth();
        app.MapMachines();
        app.MapSshSessions();
        return app;
    }

    private static void AddMachines(IServiceCollection services)
    {
        services.AddSingleton<MachineChangeFeed>();
        services.AddSingleton(sp => new MachineWriter(sp.GetRequiredService<IStore>(), sp.GetRequiredService<MachineChangeFeed>(), MachineMapper.ToJson));
        services.AddSingleton<MachineActivity>();
        services.AddSingleton<MachineService>();
    }

    private static void AddSessions(IServiceCollection services)
    {
        services.AddSingleton<SessionLifecycle>();
        services.AddSingleton<SshSessionService>();
        services.AddSingleton<SshSessionMapper>();
    }

    private static void AddReconciliation(IServiceCollection services)
    {
        services.AddSingleton<MachineWorkQueue>();
        services.AddSingleton<Reconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<Reconciler>());
        services.AddSingleton<MaintenanceService>();
        services.AddHostedService(sp => sp.GetRequiredService<MaintenanceService>());
    }

    private static void AddRuntime(IServiceCollection services, ServerOptions options)
    {
        // Options are validated: runc is the only engine so far.
        services.TryAddSingleton<IMachineRuntime>(sp => new RuncMachineRuntime(
            new RuncRuntimeOptions { DataDirectory = ServerConfiguration.RuntimeDirectory(options) },
            sp.GetRequiredService<ILogger<RuncMachineRuntime>>()));
        services.TryAddSingleton<ISshServerConnector>(sp => new InetdSshServerConnector(sp.GetRequiredService<IMachineRuntime>()));
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
            services.AddHostedService(sp => sp.GetRequiredService<GatewayService>());
        }
        else
        {
            services.AddSingleton<NoGateway>();
            services.AddSingleton<IMachinePorts>(sp => sp.GetRequiredService<NoGateway>());
            services.AddSingleton<ISessionConnections>(sp => sp.GetRequiredService<NoGateway>());
            services.AddSingleton<IOpenConnections>(sp => sp.GetRequiredService<NoGateway>());
        }
    }

    /// <summary>The base URLs Kestrel actually bound (port 0 resolved).</summary>
    public static IReadOnlyList<string> BoundAddresses(this WebApplication app) =>
        [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];

    /// <summary>Builds, starts, writes dev credentials when asked, and runs until shutdown; returns the exit code.</summary>
    public static async Task<int> RunAsync(ServerArguments arguments, TextWriter error)
    {
        WebApplication app;
        try
        {
            app = await BuildAsync(arguments).ConfigureAwait(false);
        }
        catch (ServerConfigurationException ex)
        {
            foreach (var problem in ex.Errors)
            {
                await error.WriteLineAsync("dedalus-server: " + problem).ConfigureAwait(false);
            }

            await error.WriteLineAsync($"dedalus-server: {ex.Errors.Count} bad setting{(ex.Errors.Count == 1 ? "" : "s")}, nothing was started: see `dedalus-server --help`").ConfigureAwait(false);
            return ServerCommand.ExitUsage;
        }

        await using (app)
        {
            var options = app.Services.GetRequiredService<ServerOptions>();
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Dedalus.Server");
            ServerLog.Starting(logger, options.DataDirectory, options.Runtime, options.GatewayHost[0], options.GatewayPorts.Low, options.GatewayPorts.High);
            await app.StartAsync().ConfigureAwait(false);
            if (options.Dev)
            {
                var baseUrl = app.BoundAddresses().FirstOrDefault() ?? "http://127.0.0.1:8080";
                var orgId = await DevCredentials.EnsureAsync(app.Services.GetRequiredService<ApiKeys>(), baseUrl, DevCredentials.FilePath).ConfigureAwait(false);
                ServerLog.DevCredentialsWritten(logger, orgId, DevCredentials.FilePath);
            }

            await app.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return ServerCommand.ExitOk;
    }
}
