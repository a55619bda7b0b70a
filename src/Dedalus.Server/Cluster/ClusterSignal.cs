namespace Dedalus.Server.Cluster;

/// <summary>
/// "Something changed in the store that another node may have to act on", sent after the change is committed. A
/// signal carries ids only: the receiver reads the store. Signals may be lost (a node restarting, the database
/// away); every receiver also catches up on its own (the reconciler's sweep, a full resync when its listener
/// reconnects), so a signal makes things fast, never correct.
/// </summary>
/// <param name="Kind">What changed.</param>
/// <param name="Id">The machine, session or execution.</param>
/// <param name="NodeId">The node that owns the machine concerned (machines and executions), or the session's machine (sessions).</param>
public readonly record struct ClusterSignal(ClusterSignalKind Kind, string Id, string NodeId)
{
    /// <summary>The wire text: kind, id and node, space-separated (ids never hold spaces).</summary>
    public string Format() => $"{(char)Kind} {Id} {NodeId}";

    public static bool TryParse(string text, out ClusterSignal signal)
    {
        signal = default;
        var parts = text.Split(' ');
        if (parts.Length != 3 || parts[0].Length != 1 || !Enum.IsDefined((ClusterSignalKind)parts[0][0]) || parts[1].Length == 0)
        {
            return false;
        }

        signal = new ClusterSignal((ClusterSignalKind)parts[0][0], parts[1], parts[2]);
        return true;
    }
}

public enum ClusterSignalKind
{
    /// <summary>A machine row was written (desired state, phase, size...): its node reconciles it, watchers re-read it.</summary>
    Machine = 'm',

    /// <summary>A session was closed (revoked): every node republishes its KRL and cuts the session's connections.</summary>
    SessionClosed = 's',

    /// <summary>An execution was created or asked to stop: its machine's node drives it; followers re-read its events.</summary>
    Execution = 'e',

    /// <summary>Signals may have been missed (the listener reconnected): catch up on everything. Never sent between nodes.</summary>
    Resync = 'r',
}
