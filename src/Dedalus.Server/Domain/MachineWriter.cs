using Dedalus.Server.Store;

namespace Dedalus.Server.Domain;

/// <summary>Writes a machine with compare-and-swap on its revision, appends its event and signals watchers.</summary>
public sealed class MachineWriter(IStore store, MachineChangeFeed feed)
{
    public async Task<bool> TryWriteAsync(MachineRecord current, MachineRecord next, CancellationToken cancellationToken = default)
    {
        var written = next with { Revision = current.Revision + 1 };
        if (!await store.TryUpdateMachineAsync(written, current.Revision, MachineMapper.ToJson(written), cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        feed.Publish(written.Id);
        return true;
    }

    public async Task<MachineRecord?> TryWriteAndReturnAsync(MachineRecord current, MachineRecord next, CancellationToken cancellationToken = default) =>
        await TryWriteAsync(current, next, cancellationToken).ConfigureAwait(false) ? next with { Revision = current.Revision + 1 } : null;
}
