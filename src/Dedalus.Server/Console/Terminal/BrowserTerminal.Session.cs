using Dedalus.Contracts;
using Dedalus.OpenSsh;
using Dedalus.Server.Errors;
using Dedalus.Server.Store;

namespace Dedalus.Server.Console.Terminal;

internal sealed partial class BrowserTerminal
{
    /// <summary>
    /// Creates the session, waits until it is ready, starts ssh on the PTY and bridges until ssh exits; returns why it
    /// ended and ssh's exit code. Throws <see cref="OperationCanceledException"/> when ended from outside.
    /// </summary>
    private async Task<(TerminalEnd End, int? SshExit)> ConnectAndBridgeAsync(CancellationToken cancellationToken)
    {
        if (_machine.Phase != MachinePhases.Running)
        {
            await SendStatusAsync("waking the machine…").ConfigureAwait(false);
        }
        else
        {
            await SendStatusAsync("opening an SSH session…").ConfigureAwait(false);
        }

        using var key = SshPrivateKey.GenerateEd25519();
        var (session, machine) = await _sessions.CreateAsync(
            _caller.OrgId, MachineWireId, new CreateSshSessionRequest(key.PublicKey.ToOpenSshString()), cancellationToken).ConfigureAwait(false);
        _sessionId = session.Id;
        ServerLog.TerminalSessionOpened(_logger, MachineWireId, _caller.OrgId, session.Id);
        (session, machine) = await WaitUntilReadyAsync(session, machine, cancellationToken).ConfigureAwait(false);

        // On several nodes the machine may be another node's: the connection names that node's gateway.
        var connection = _mapper.ToContract(session, machine).Connection
            ?? throw new TerminalEndedException(TerminalEnd.Error("the session is ready but has no connection"));
        await SendStatusAsync("connecting…").ConfigureAwait(false);
        using var files = TerminalSshFiles.Create(connection, key.ToOpenSshFormat());
        _pty = PseudoTerminal.Open(Volatile.Read(ref _columns), Volatile.Read(ref _rows));
        var ssh = _pty.Start("ssh", files.Arguments(TerminalLimits.ServerAliveInterval, TerminalLimits.ConnectTimeout), SshEnvironment);
        _reader = StartPtyReader(_pty);
        ServerLog.TerminalConnected(_logger, session.Id, connection.Endpoint, connection.Port, ssh.Id);

        // ssh puts the terminal in raw mode once its session channel (and the remote PTY) is open: the connection is up.
        var exited = ssh.WaitForExitAsync(cancellationToken);
        using (var connectBound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connectBound.CancelAfter(TerminalLimits.ConnectTimeout);
            while (!exited.IsCompleted && !_pty.IsRaw)
            {
                try
                {
                    await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMilliseconds(50), connectBound.Token)).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TerminalEndedException(TerminalEnd.Error($"ssh did not connect within {TerminalLimits.ConnectTimeout.TotalSeconds:0} s"));
                }

                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        if (!exited.IsCompleted)
        {
            _connected = true;
            await SendAsync(OutgoingFrame.Text(TerminalFrames.Ready(session.Id)), cancellationToken).ConfigureAwait(false);
        }

        await exited.ConfigureAwait(false);

        // Everything ssh wrote reaches the browser before the closed frame: the reader ends at the PTY's end.
        _pty.CloseSlave();
        await _reader.WaitAsync(cancellationToken).ConfigureAwait(false);
        var exitCode = ssh.ExitCode;
        return (await WhyEndedAsync(exitCode).ConfigureAwait(false), exitCode);
    }

    /// <summary>ssh's environment: colours for the remote programs, no agent or display of the server's to borrow.</summary>
    private static readonly Dictionary<string, string?> SshEnvironment = new(StringComparer.Ordinal)
    {
        ["TERM"] = "xterm-256color",
        ["SSH_AUTH_SOCK"] = null,
        ["DISPLAY"] = null,
    };

    /// <summary>
    /// Waits while the session waits for its machine (a wake, a gateway port), with a <c>status</c> frame at every
    /// change. Woken by the machine's change feed (the reconciler publishes there); polled every second as well, for
    /// changes written by another node.
    /// </summary>
    private async Task<(SessionRecord, MachineRecord)> WaitUntilReadyAsync(SessionRecord session, MachineRecord machine, CancellationToken cancellationToken)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TerminalLimits.ReadyTimeout;
        while (true)
        {
            switch (session.Status)
            {
                case SshSessionStatuses.Ready:
                    return (session, machine);
                case SshSessionStatuses.WakeInProgress:
                    await SendStatusAsync("waking the machine…").ConfigureAwait(false);
                    break;
                case SshSessionStatuses.SshInProgress:
                    await SendStatusAsync("waiting for the machine's SSH gateway…").ConfigureAwait(false);
                    break;
                default:
                    throw new TerminalEndedException(SessionEnd(session) ?? TerminalEnd.Error($"the session is {session.Status}"));
            }

            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                throw new TerminalEndedException(TerminalEnd.Error($"the machine was not ready within {TerminalLimits.ReadyTimeout.TotalMinutes:0} minutes"));
            }

            // Take the change signal before reading: a change between the read and the wait is not missed.
            var changed = _machineFeed.NextChangeAsync(machine.Id, cancellationToken);
            try
            {
                await changed.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }

            (session, machine) = await _sessions.GetAsync(_caller.OrgId, MachineWireId, session.Id, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Why ssh ended: the session's state decides (revoked, expired), then ssh's exit code.</summary>
    private async Task<TerminalEnd> WhyEndedAsync(int exitCode)
    {
        try
        {
            var (session, _) = await _sessions.GetAsync(_caller.OrgId, MachineWireId, _sessionId!, CancellationToken.None).ConfigureAwait(false);
            if (SessionEnd(session) is { } ended)
            {
                return ended;
            }
        }
        catch (DomainException)
        {
            // The machine is gone (another org cannot happen): ssh's exit says the rest.
        }

        return exitCode == 255
            ? TerminalEnd.Error("the SSH connection failed or was cut (ssh exited with 255)")
            : new TerminalEnd(TerminalEnd.ExitCode, $"the shell exited with code {exitCode}");
    }

    /// <summary>The end a finished session means, or null while it is live.</summary>
    private static TerminalEnd? SessionEnd(SessionRecord session) => session.Status switch
    {
        SshSessionStatuses.Closed => new TerminalEnd(TerminalEnd.RevokedCode, session.ErrorMessage ?? "the SSH session was closed (revoked)"),
        SshSessionStatuses.Expired => new TerminalEnd(TerminalEnd.ExpiredCode, "the SSH session expired"),
        SshSessionStatuses.Failed => TerminalEnd.Error(session.ErrorMessage ?? "the SSH session failed"),
        _ => null,
    };

    /// <summary>Kills ssh's process group, reaps it and closes the PTY (the reader then ends).</summary>
    private void StopSsh() => _pty?.Dispose();

    /// <summary>
    /// Closes the terminal's session, so its certificate is revoked now rather than at its expiry. Bounded, and on
    /// <see cref="CancellationToken.None"/>: the browser is usually gone already.
    /// </summary>
    private async Task EndSessionAsync()
    {
        if (_sessionId is not { } sessionId)
        {
            return;
        }

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _sessions.DeleteAsync(_caller.OrgId, MachineWireId, sessionId, bound.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DomainException or OperationCanceledException or StoreUnavailableException)
        {
            ServerLog.TerminalSessionNotClosed(_logger, sessionId, MachineWireId, e);
        }
    }
}
