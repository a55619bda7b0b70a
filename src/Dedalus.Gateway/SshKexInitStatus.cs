namespace Dedalus.Gateway;

/// <summary>What the client's first binary packet amounts to so far (<see cref="SshKexInit.Check"/>).</summary>
internal enum SshKexInitStatus
{
    /// <summary>Not all of the packet has arrived.</summary>
    Incomplete,

    /// <summary>A KEXINIT whose name-lists are printable US-ASCII.</summary>
    Valid,

    /// <summary>Not a KEXINIT, malformed, or a name-list with other bytes: the connection is refused.</summary>
    Invalid,
}
