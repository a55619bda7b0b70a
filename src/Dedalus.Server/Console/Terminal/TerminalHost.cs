using System.Collections.Concurrent;
using System.Net.WebSockets;
using Dedalus.Server.Machines;
using Dedalus.Server.Sessions;
using Dedalus.Server.Sessions.Api;
using Dedalus.Server.Store;

namespace Dedalus.Server.Console.Terminal;

/// <summary>
/// The open browser terminals of this node, by browser session: runs each one (<see cref="BrowserTerminal"/>), ends
/// those of a browser session that signs out, and ends them all (closing their sessions) when the server stops, so
/// that no certificate of a terminal outlives the process that held its key (<see cref="TerminalShutdown"/>).
/// </summary>
public sealed class TerminalHost(
    SshSessionService sessions,
    SshSessionMapper mapper,
    MachineChangeFeed machineFeed,
    ILogger<TerminalHost> logger)
{
    private readonly ConcurrentDictionary<BrowserTerminal, byte> _open = new();

    /// <summary>What is open now (for tests and diagnostics): never keystrokes, output or keys.</summary>
    public IReadOnlyList<TerminalInfo> Open => [.. _open.Keys.Select(t => t.Info)];

    /// <summary>
    /// Runs one terminal on an accepted WebSocket until it ends: the browser closes it, ssh exits, the session is
    /// revoked or expires, the browser session signs out, or the server stops.
    /// </summary>
    public async Task RunAsync(WebSocket socket, ConsoleCallerInfo caller, MachineRecord machine, int columns, int rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(machine);
        await using var terminal = new BrowserTerminal(socket, caller, machine, columns, rows, sessions, mapper, machineFeed, logger);
        _open.TryAdd(terminal, 0);
        try
        {
            await terminal.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _open.TryRemove(terminal, out _);
        }
    }

    /// <summary>
    /// Ends every terminal of <paramref name="browserSessionId"/> (a sign-out): each gets a <c>closed</c> frame with
    /// code <c>signed_out</c>, its ssh is killed and its SSH session closed. Returns once they have ended.
    /// </summary>
    public async Task EndBrowserSessionAsync(string browserSessionId, CancellationToken cancellationToken = default)
    {
        var ending = _open.Keys.Where(t => string.Equals(t.BrowserSessionId, browserSessionId, StringComparison.Ordinal)).ToList();
        if (ending.Count == 0)
        {
            return;
        }

        foreach (var terminal in ending)
        {
            terminal.End(new TerminalEnd(TerminalEnd.SignedOutCode, "signed out of the console"));
        }

        await Task.WhenAll(ending.Select(t => t.Completion)).WaitAsync(cancellationToken).ConfigureAwait(false);
        ServerLog.TerminalsOfBrowserSessionEnded(logger, ending.Count);
    }

    /// <summary>Ends every terminal (code <c>shutdown</c>) and waits for them, until <paramref name="cancellationToken"/>.</summary>
    public async Task EndAllAsync(CancellationToken cancellationToken = default)
    {
        var all = _open.Keys.ToList();
        foreach (var terminal in all)
        {
            terminal.End(new TerminalEnd(TerminalEnd.ShutdownCode, "the server is shutting down"));
        }

        try
        {
            await Task.WhenAll(all.Select(t => t.Completion)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's stop timeout: the sessions left expire at their TTL.
        }
    }
}
