namespace Dedalus.Gateway;

/// <summary>The backend's answer to "may this connection reach this machine now?".</summary>
public enum GatewayAdmission
{
    /// <summary>No such machine: the connection is closed at once.</summary>
    Unknown,

    /// <summary>The machine is deleted (or being deleted): closed at once.</summary>
    Deleted,

    /// <summary>The machine runs: sshd is started.</summary>
    Running,

    /// <summary>The machine sleeps but has a live (ready, unexpired) SSH session: the gateway asks the backend to wake it, then goes on.</summary>
    SleepingWithLiveSession,

    /// <summary>The machine sleeps and no live session could log in: closed at once.</summary>
    SleepingWithoutLiveSession,
}
