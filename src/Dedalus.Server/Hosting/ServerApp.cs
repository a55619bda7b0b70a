using Dedalus.Contracts;
using Dedalus.Server.Console.Terminal.Api;
using Dedalus.Server.Auth;
using Dedalus.Server.Console;
using Dedalus.Server.Connections.Api;
using Dedalus.Server.Executions.Api;
using Dedalus.Server.Http;
using Dedalus.Server.Machines.Api;
using Dedalus.Server.Sessions.Api;
using Dedalus.Server.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

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
        var builder = WebApplication.CreateSlimBuilder();

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

        builder.WebHost.ConfigureKestrel(HttpLimits.Apply);

        Directory.CreateDirectory(options.DataDirectory);
        // 0711: others may traverse (runc's mapped root must reach the machine bundles) but not list;
        // secrets below are protected by their own modes (ca/ 0700, keys and database 0600).
        File.SetUnixFileMode(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        IStore store;
        try
        {
            store = await StoreFactory.OpenAsync(options.Database, options.DataDirectory, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException ex) when (options.Database is not null)
        {
            throw new ServerConfigurationException([$"{ServerConfiguration.SourceOf("Database", arguments)}: PostgreSQL refuses the connection string: {ex.Message}"]);
        }
        catch (StoreUnavailableException ex)
        {
            // The message names where the database is (never its password), for the one line RunAsync prints.
            throw new StoreUnavailableException($"cannot reach the database {StoreFactory.Describe(options.Database, options.DataDirectory)}: {ex.Message}", ex);
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // Under systemd: READY=1 once started and STOPPING=1 at stop (Type=notify); ours after it, so the format chosen
        // here (systemd by default there) beats the one it sets.
        builder.Services.AddSystemd();
        ServerLogging.Apply(builder.Logging, ServerLogging.Choose(options.LogFormat, Environment.GetEnvironmentVariable));
        builder.Services.AddDedalusServer(options, store);
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, DedalusJsonContext.Default));
        builder.Services.AddOpenApi();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<ErrorHandlingMiddleware>();
        app.UseMiddleware<MalformedRequestMiddleware>(); // on the raw target, before routing matches the normalised path
        app.UseRouting();
        app.UseMiddleware<AuthenticationMiddleware>();
        app.UseMiddleware<IdempotencyMiddleware>();
        app.MapOpenApi("/openapi/v1.json"); // one document: any other name is a route miss, answered in the envelope
        app.MapHealth();
        app.MapMetrics(options);
        app.MapMachines();
        app.MapOrganization();
        app.MapSshSessions();
        app.MapExecutions();
        app.MapDedalusConsole();
        app.MapSshConnections();
        app.MapConsoleTerminal();
        return app;
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
        catch (StoreUnavailableException ex)
        {
            // One line, no stack trace: the operator's next step is the database, not the server.
            await error.WriteLineAsync($"dedalus-server: {ex.Message}; nothing was started").ConfigureAwait(false);
            return ServerCommand.ExitFailure;
        }

        await using (app)
        {
            var options = app.Services.GetRequiredService<ServerOptions>();
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Dedalus.Server");
            ServerLog.Starting(logger, options.DataDirectory, options.Runtime, options.GatewayHost[0], options.GatewayPorts.Low, options.GatewayPorts.High);
            try
            {
                await app.StartAsync().ConfigureAwait(false);
            }
            catch (Cluster.NodeConflictException ex)
            {
                await error.WriteLineAsync("dedalus-server: " + ex.Message).ConfigureAwait(false);
                return ServerCommand.ExitFailure;
            }
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
