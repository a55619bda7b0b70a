namespace Dedalus.Gateway;

/// <summary>
/// One connection's place in the <see cref="PreAuthenticationBudget"/>: what it holds there (a pending slot, a handshake
/// slot) and its places in the budget's two queues. Every field is read and written under the budget's lock.
/// </summary>
internal sealed class PreAuthenticationEntry(GatewayConnection connection)
{
    public GatewayConnection Connection { get; } = connection;

    public string MachineId => Connection.MachineId;

    public SourceAddress Source => Connection.Source;

    /// <summary>Counted as pending (accepted, not authenticated) for the gateway, the machine and the source.</summary>
    public bool HoldsPending { get; set; }

    /// <summary>Counted as a handshake (sshd started or starting) for the machine and the source.</summary>
    public bool HoldsHandshake { get; set; }

    /// <summary>Its node in the queue of connections waiting for their identification line (oldest first), while there.</summary>
    public LinkedListNode<PreAuthenticationEntry>? IdentifyingNode { get; set; }

    /// <summary>Its node in the queue of connections waiting for a handshake slot (first come, first served), while there.</summary>
    public LinkedListNode<PreAuthenticationEntry>? WaitingNode { get; set; }

    /// <summary>Completed when a handshake slot is granted to it.</summary>
    public TaskCompletionSource? Granted { get; set; }
}
