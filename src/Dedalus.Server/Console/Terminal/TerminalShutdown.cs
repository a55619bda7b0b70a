namespace Dedalus.Server.Console.Terminal;

/// <summary>
/// Ends the open terminals when the server stops, before the store closes: each browser gets a <c>closed</c> frame
/// (<c>shutdown</c>), each ssh is killed and each session closed, so no terminal certificate stays valid.
/// </summary>
public sealed class TerminalShutdown(TerminalHost terminals) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => terminals.EndAllAsync(cancellationToken);
}
