using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dedalus.Server.Console.Terminal;

/// <summary>The browser terminal's services (the endpoint is mapped by <c>TerminalApi.MapConsoleTerminal</c>).</summary>
public static class TerminalServices
{
    /// <summary>
    /// Registers the terminal host: it runs the terminals, ends a browser session's terminals at sign-out
    /// (<see cref="TerminalHost.EndBrowserSessionAsync"/>) and all of them at shutdown.
    /// </summary>
    public static IServiceCollection AddConsoleTerminal(this IServiceCollection services)
    {
        services.TryAddSingleton<TerminalHost>();
        services.AddHostedService(sp => sp.GetRequiredService<TerminalHost>());
        return services;
    }
}
