namespace Dedalus.Gateway;

/// <summary>
/// The way to an authenticated session: the stage, the one deadline timer (identification, then authentication), the
/// budget entry, and the counters held. Stage changes are compare-and-swap, so that the deadline, a drop and the
/// connection's own progress never both win.
/// </summary>
internal sealed partial class GatewayConnection
{
    private readonly CancellationTokenSource _preAuthentication = new();
    private int _stage = (int)ConnectionStage.Identifying;
    private int _slots;
    private ITimer? _deadline;
    private TimeProvider _timeProvider = TimeProvider.System;
    private long _acceptedTimestamp;
    private TimeSpan _identifiedAfter;

    public ConnectionStage Stage => (ConnectionStage)Volatile.Read(ref _stage);

    /// <summary>
    /// Cancelled when the connection must stop waiting before sshd is started: its deadline passed, it was dropped from a
    /// full budget, or it was cut. <see cref="End"/> says which.
    /// </summary>
    public CancellationToken PreAuthenticationEnded => _preAuthentication.Token;

    /// <summary>The connection's entry in the pre-authentication budgets, once it entered them.</summary>
    public PreAuthenticationEntry? BudgetEntry { get; set; }

    /// <summary>Counts the connection in <paramref name="slots"/>.</summary>
    public void Hold(ConnectionSlots slots) => Interlocked.Or(ref _slots, (int)slots);

    /// <summary>True once per slot held: the caller releases it.</summary>
    public bool TryRelease(ConnectionSlots slot) => (Interlocked.And(ref _slots, ~(int)slot) & (int)slot) != 0;

    /// <summary>Starts the identification deadline (measured from now, the accept).</summary>
    public void StartDeadline(TimeProvider timeProvider, TimeSpan identificationTimeout)
    {
        _timeProvider = timeProvider;
        _acceptedTimestamp = timeProvider.GetTimestamp();
        _deadline = timeProvider.CreateTimer(
            static state => ((GatewayConnection)state!).OnDeadline(), this, identificationTimeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The identification line arrived in time: on to admission (false when the deadline or a drop came first).</summary>
    public bool TryIdentified()
    {
        if (!TryAdvance(ConnectionStage.Identifying, ConnectionStage.Admitting))
        {
            return false;
        }

        _identifiedAfter = _timeProvider.GetElapsedTime(_acceptedTimestamp);
        return true;
    }

    /// <summary>
    /// Admitted: waits for a handshake slot, with what is left of <paramref name="authenticationTimeout"/> after the
    /// identification (admission and wake not counted). False when the connection was cut meanwhile.
    /// </summary>
    public bool TryQueue(TimeSpan authenticationTimeout)
    {
        if (!TryAdvance(ConnectionStage.Admitting, ConnectionStage.Queued))
        {
            return false;
        }

        var remaining = authenticationTimeout - _identifiedAfter;
        try
        {
            _deadline?.Change(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        return true;
    }

    /// <summary>A handshake slot is ours: sshd may start (false when the deadline came first).</summary>
    public bool TryStartHandshake() => TryAdvance(ConnectionStage.Queued, ConnectionStage.Handshaking);

    /// <summary>sshd accepted the certificate: the deadline stops (false when the connection is already ending).</summary>
    public bool TryAuthenticate()
    {
        if (!TryAdvance(ConnectionStage.Handshaking, ConnectionStage.Authenticated))
        {
            return false;
        }

        _deadline?.Dispose();
        return true;
    }

    /// <summary>
    /// Marks a connection still waiting for its identification line as dropped (under the budget's lock: no callbacks
    /// run); the caller then calls <see cref="CancelPreAuthentication"/> outside it. False when it has identified meanwhile.
    /// </summary>
    public bool TryMarkEvicted()
    {
        if (!TryAdvance(ConnectionStage.Identifying, ConnectionStage.Ended))
        {
            return false;
        }

        TrySetEnd(GatewayConnectionEnd.PendingEvicted);
        return true;
    }

    /// <summary>The connection is over: returns the stage it was in (an authenticated one is uncounted by the caller).</summary>
    public ConnectionStage EndStage()
    {
        _deadline?.Dispose();
        return (ConnectionStage)Interlocked.Exchange(ref _stage, (int)ConnectionStage.Ended);
    }

    /// <summary>Wakes the identification read or the handshake wait (their callers read <see cref="End"/>).</summary>
    public void CancelPreAuthentication()
    {
        try
        {
            _preAuthentication.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private bool TryAdvance(ConnectionStage from, ConnectionStage to) =>
        Interlocked.CompareExchange(ref _stage, (int)to, (int)from) == (int)from;

    private void OnDeadline()
    {
        switch (Stage)
        {
            case ConnectionStage.Identifying when TryAdvance(ConnectionStage.Identifying, ConnectionStage.Ended):
                TrySetEnd(GatewayConnectionEnd.IdentificationTimeout);
                CancelPreAuthentication();
                break;
            case ConnectionStage.Queued when TryAdvance(ConnectionStage.Queued, ConnectionStage.Ended):
                TrySetEnd(GatewayConnectionEnd.AuthenticationTimeout);
                CancelPreAuthentication();
                break;
            case ConnectionStage.Handshaking when TryAdvance(ConnectionStage.Handshaking, ConnectionStage.Ended):
                // sshd runs and has spoken: nothing readable can be sent any more; cut.
                Cut(GatewayConnectionEnd.AuthenticationTimeout);
                break;
            default:
                // Admitting (the grace period pauses; re-armed after admission), authenticated, or over.
                break;
        }
    }
}
