using Dedalus.Server.Cluster;
using Dedalus.Server.Store;

namespace Dedalus.Server.Machines;

/// <summary>
/// Every write of a machine row: insert, and compare-and-swap on the revision. Each write appends the machine's
/// status event (its payload, the machine as clients see it, is chosen by the composition root) and signals watchers,
/// here and on the other nodes.
/// </summary>
public sealed class MachineWriter(IStore store, MachineChangeFeed feed, IClusterBus bus, Func<MachineRecord, string> eventPayload)
{
    /// <summary>
    /// Inserts <paramref name="machine"/> on the node <paramref name="place"/> chooses, with the lowest free port of its
    /// range; null when none is free. <paramref name="admit"/> (a quota check) runs first in the insert's transaction and
    /// refuses by throwing.
    /// </summary>
    public async Task<MachineRecord?> InsertAsync(MachineRecord machine, Func<IResourceReader, MachinePlacement> place, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default)
    {
        var stored = await store.InsertMachineAsync(machine, place, eventPayload, admit, cancellationToken).ConfigureAwait(false);
        if (stored is not null)
        {
            Changed(stored);
        }

        return stored;
    }

    public async Task<bool> TryWriteAsync(MachineRecord current, MachineRecord next, CancellationToken cancellationToken = default) =>
        await TryWriteAndReturnAsync(current, next, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Writes <paramref name="next"/> if the stored revision is still <paramref name="current"/>'s; the written machine, or null when another write came first.</summary>
    public Task<MachineRecord?> TryWriteAndReturnAsync(MachineRecord current, MachineRecord next, CancellationToken cancellationToken = default) =>
        TryWriteAndReturnAsync(current, next, admit: null, cancellationToken);

    /// <summary>
    /// <inheritdoc cref="TryWriteAndReturnAsync(MachineRecord, MachineRecord, CancellationToken)"/> <paramref name="admit"/>
    /// (a quota check) runs first in the write's transaction and refuses by throwing.
    /// </summary>
    public async Task<MachineRecord?> TryWriteAndReturnAsync(MachineRecord current, MachineRecord next, Action<IResourceReader>? admit, CancellationToken cancellationToken = default)
    {
        var written = next with { Revision = current.Revision + 1 };
        if (!await store.TryUpdateMachineAsync(written, current.Revision, eventPayload(written), admit, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        Changed(written);
        return written;
    }

    /// <summary>Wakes this node's watchers, and the other nodes (the machine's own reconciles it).</summary>
    private void Changed(MachineRecord machine)
    {
        feed.Publish(machine.Id);
        bus.Send(new ClusterSignal(ClusterSignalKind.Machine, machine.Id, machine.NodeId ?? ""));
    }
}
