using Dedalus.Contracts;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Api;
using Dedalus.Server.Auth;
using Dedalus.Server.Domain;
using Dedalus.Server.Gateway;
using Dedalus.Server.Logging;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dedalus.Server.Hosting;

/// <summary>Builds and runs the server: API, reconciler, maintenance, gateway and runtime in one process.</summary>
public static class ServerApp
{
    /// <summary>Builds the application; <paramref name="configure"/> may replace services (tests: clock, runtime, logging).</summary>
    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args });
        builder.Configuration.AddDedalusSources(args);
        var options = ServerConfiguration.Read(builder.Configuration);
        if (ServerConfiguration.ListenUrl(builder.Configuration) is { } url)
        {
            builder.WebHost.UseUrls(url);
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
        services.AddSingleton<IStore>(_ => store);
        services.AddSingleton<ApiKeys>();
        services.AddSingleton<MachineChangeFeed>();
        services.AddSingleton<MachineWriter>();
        services.AddSingleton<MachineActivity>();
        services.AddSingleton<MachineService>();
        services.AddSingleton<SshSessionService>();
        services.AddSingleton(sp => SshAuthority.LoadOrCreate(options, sp.GetRequiredService<ILoggerFactory>().CreateLogger<SshAuthority>()));
        services.AddSingleton<SshTrustPublisher>();
        services.AddSingleton<Reconciler>();
        services.AddSingleton<IMachineWorkQueue>(sp => sp.GetRequiredService<Reconciler>());
        services.AddHostedService(sp => sp.GetRequiredService<Reconciler>());
        services.AddSingleton<MaintenanceService>();
        services.AddHostedService(sp => sp.GetRequiredService<MaintenanceService>());
        AddRuntime(services, options);
        if (options.EnableGateway)
        {
            services.AddSingleton<GatewayBackend>();
            services.AddSingleton<GatewayService>();
            services.AddSingleton<IMachinePorts>(sp => sp.GetRequiredService<GatewayService>());
            services.AddSingleton<ISessionConnectionCloser>(sp => sp.GetRequiredService<GatewayService>());
            services.AddHostedService(sp => sp.GetRequiredService<GatewayService>());
        }
        else
        {
            services.AddSingleton<NoGateway>();
            services.AddSingleton<IMachinePorts>(sp => sp.GetRequiredService<NoGateway>());
            services.AddSingleton<ISessionConnectionCloser>(sp => sp.GetRequiredService<NoGateway>());
        }

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

    private static void AddRuntime(IServiceCollection services, ServerOptions options)
    {
        switch (options.Runtime)
        {
            case "runc":
                services.TryAddSingleton<IMachineRuntime>(sp => new RuncMachineRuntime(
                    new RuncRuntimeOptions { DataDirectory = Path.Combine(options.DataDirectory, "runtime") },
                    sp.GetRequiredService<ILogger<RuncMachineRuntime>>()));
                break;
            default:
                throw new InvalidOperationException($"--runtime must be runc (the only engine so far), not '{options.Runtime}'");
        }
    }

    /// <summary>The base URLs Kestrel actually bound (port 0 resolved).</summary>
    public static IReadOnlyList<string> BoundAddresses(this WebApplication app) =>
        [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];

    /// <summary>Starts, writes dev credentials when asked, and runs until shutdown.</summary>
    public static async Task RunAsync(string[] args)
    {
        await using var app = await BuildAsync(args).ConfigureAwait(false);
        var options = app.Services.GetRequiredService<ServerOptions>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Dedalus.Server");
        ServerLog.Starting(logger, options.DataDirectory, options.Runtime, options.GatewayHosts[0], options.GatewayPortLow, options.GatewayPortHigh);
        await app.StartAsync().ConfigureAwait(false);
        if (options.Dev)
        {
            var baseUrl = app.BoundAddresses().FirstOrDefault() ?? "http://127.0.0.1:8080";
            var orgId = await DevCredentials.EnsureAsync(app.Services.GetRequiredService<ApiKeys>(), baseUrl, DevCredentials.FilePath).ConfigureAwait(false);
            ServerLog.DevCredentialsWritten(logger, orgId, DevCredentials.FilePath);
        }

        await app.WaitForShutdownAsync().ConfigureAwait(false);
    }
}
