namespace Dedalus.Server.Console.Terminal;

/// <summary>The browser terminal's services (the endpoint is mapped by <c>TerminalApi.MapConsoleTerminal</c>).</summary>
public static class TerminalServices
{
    /// <summary>
    /// Registers the terminal host (it runs the terminals and ends a browser session's terminals at sign-out:
    /// <see cref="TerminalHost.EndBrowserSessionAsync"/>) and ends them all at shutdown.
    /// </summary>
    public static IServiceCollection AddConsoleTerminal(this IServiceCollection services)
    {
        services.AddSingleton<TerminalHost>();
        services.AddHostedService<TerminalShutdown>();
        return services;
    }
}
