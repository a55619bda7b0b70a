using Dedalus.Server.Console.Api;
using Microsoft.AspNetCore.Builder;

namespace Dedalus.Server.Console;

/// <summary>The web console's wiring: one call to register its services, one to put it in the pipeline.</summary>
public static class ConsoleServices
{
    public static IServiceCollection AddDedalusConsole(this IServiceCollection services)
    {
        services.AddSingleton<ConsoleSessions>();
        services.AddSingleton<ConsoleCaller>();
        // A second instance for the interface is harmless: a caller keeps its per-request answer on the request itself.
        services.AddSingleton<IConsoleCaller, ConsoleCaller>();
        services.AddSingleton<ConsoleAssets>();
        return services;
    }

    /// <summary>
    /// Adds the console's gate (<see cref="ConsoleMiddleware"/>, after routing and the <c>/v1</c> authentication, which
    /// never looks at the cookie) and maps its pages and JSON API under <c>/console</c>.
    /// </summary>
    public static WebApplication MapDedalusConsole(this WebApplication app)
    {
        app.UseMiddleware<ConsoleMiddleware>();
        app.MapConsolePages();
        app.MapConsoleApi();
        return app;
    }
}
