using Dedalus.Client.Http;
using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// The <c>/v1/machines</c> resource. Wherever a machine id goes, a machine's name goes too (the server resolves it).
/// Both are checked before anything is sent: text that is neither <c>dm-&lt;uuid&gt;</c>, a bare uuid, nor a valid
/// machine name (<see cref="MachineNames"/>) is an <see cref="ArgumentException"/>.
/// </summary>
public sealed partial class MachinesResource
{
    private readonly ApiRequester _requester;

    internal MachinesResource(ApiRequester requester)
    {
        _requester = requester;
        Ssh = new SshSessionsResource(requester);
        Executions = new ExecutionsResource(requester);
        Autoresizing = new MachineAutoresizingResource(requester);
    }

    /// <summary>RAM autoresizing of one machine (<c>/v1/machines/{id}/autoresizing</c>).</summary>
    public MachineAutoresizingResource Autoresizing { get; }

    /// <summary>SSH sessions of machines (<c>/v1/machines/{id}/ssh</c>).</summary>
    public SshSessionsResource Ssh { get; }

    /// <summary>Commands run in machines through the API, without SSH (<c>/v1/machines/{id}/executions</c>).</summary>
    public ExecutionsResource Executions { get; }

    /// <summary>Creates a machine (<c>POST /v1/machines</c>).</summary>
    /// <param name="request">Size and autosleep of the machine.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine as accepted; it may still be starting.</returns>
    public Task<Machine> CreateAsync(CreateMachineRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _requester.SendAsync(
            HttpMethod.Post, "v1/machines", request,
            DedalusJsonContext.Default.CreateMachineRequest, DedalusJsonContext.Default.Machine, cancellationToken);
    }

    /// <summary>Reads one machine (<c>GET /v1/machines/{id}</c>).</summary>
    /// <param name="machineId">The machine id (<c>dm-&lt;uuid&gt;</c> or the bare uuid) or its name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine.</returns>
    public Task<Machine> RetrieveAsync(string machineId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, MachinePath(machineId), DedalusJsonContext.Default.Machine, cancellationToken);

    /// <summary>Resizes a machine or changes its autosleep (<c>PATCH /v1/machines/{id}</c>).</summary>
    /// <param name="machineId">The machine id or name.</param>
    /// <param name="request">The fields to change; unset fields stay as they are.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine after the change was accepted.</returns>
    public Task<Machine> UpdateAsync(string machineId, UpdateMachineRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _requester.SendAsync(
            HttpMethod.Patch, MachinePath(machineId), request,
            DedalusJsonContext.Default.UpdateMachineRequest, DedalusJsonContext.Default.Machine, cancellationToken);
    }

    /// <summary>
    /// Lists machines (<c>GET /v1/machines</c>), fetching further pages as the caller enumerates. Stops on
    /// an empty page, an absent cursor or a cursor the server already sent.
    /// </summary>
    /// <param name="limit">Page size to ask for; the server's default when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>Every machine visible to the key.</returns>
    public IAsyncEnumerable<Machine> ListAsync(int? limit = null, CancellationToken cancellationToken = default) =>
        Paging.EnumerateAsync(
            (cursor, ct) => ListPageAsync(limit, cursor, ct),
            page => (page.Items, page.NextCursor),
            cancellationToken);

    /// <summary>Reads one page of machines (<c>GET /v1/machines?limit=&amp;cursor=</c>).</summary>
    /// <param name="limit">Page size to ask for.</param>
    /// <param name="cursor">The <c>next_cursor</c> of the previous page; <see langword="null"/> for the first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    public Task<MachineList> ListPageAsync(int? limit = null, string? cursor = null, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, Paging.Query("v1/machines", limit, cursor), DedalusJsonContext.Default.MachineList, cancellationToken);

    /// <summary>Destroys a machine and its storage (<c>DELETE /v1/machines/{id}</c>).</summary>
    /// <param name="machineId">The machine id or name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine, now with desired state <c>destroyed</c>.</returns>
    public Task<Machine> DeleteAsync(string machineId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Delete, MachinePath(machineId), DedalusJsonContext.Default.Machine, cancellationToken);

    /// <summary>Puts a machine to sleep (<c>POST /v1/machines/{id}/sleep</c>); storage is kept.</summary>
    /// <param name="machineId">The machine id or name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine, now with desired state <c>sleeping</c>.</returns>
    public Task<Machine> SleepAsync(string machineId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Post, MachinePath(machineId) + "/sleep", DedalusJsonContext.Default.Machine, cancellationToken);

    /// <summary>Wakes a sleeping machine (<c>POST /v1/machines/{id}/wake</c>).</summary>
    /// <param name="machineId">The machine id or name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine, now with desired state <c>running</c>.</returns>
    public Task<Machine> WakeAsync(string machineId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Post, MachinePath(machineId) + "/wake", DedalusJsonContext.Default.Machine, cancellationToken);

    /// <summary>
    /// Reboots a machine with fresh memory (<c>POST /v1/machines/{id}/reboot</c>): files are checkpointed and the runtime
    /// replaced; the id and the file system are kept, RAM, processes and temporary mounts are cleared. Poll
    /// <see cref="RetrieveAsync"/> (or <see cref="WatchAsync"/>) until the phase is <c>running</c>. The one
    /// <c>Idempotency-Key</c> of the call is sent again on each retry, so a lost answer does not reboot twice.
    /// </summary>
    /// <param name="machineId">The machine id or name.</param>
    /// <param name="force">
    /// Recover from the last committed file system checkpoint without the guest's cooperation (<c>?force=true</c>);
    /// file writes not yet published are lost.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine as the server accepted the reboot.</returns>
    public Task<Machine> RebootAsync(string machineId, bool force = false, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Post, MachinePath(machineId) + (force ? "/reboot?force=true" : "/reboot"), DedalusJsonContext.Default.Machine, cancellationToken);

    /// <summary>
    /// Follows a machine's status events (<c>GET /v1/machines/{id}/status/stream</c>, server-sent events).
    /// A dropped stream is resumed with <c>Last-Event-ID</c>; the enumeration ends when the server closes the
    /// stream (the machine reached its desired state) or the caller stops.
    /// </summary>
    /// <param name="machineId">The machine id or name.</param>
    /// <param name="lastEventId">Resume after this event id (from an earlier watch).</param>
    /// <param name="cancellationToken">Cancels the watch.</param>
    /// <returns>The machine at each status event.</returns>
    public IAsyncEnumerable<Machine> WatchAsync(string machineId, string? lastEventId = null, CancellationToken cancellationToken = default)
    {
        var path = MachinePath(machineId) + "/status/stream";
        if (lastEventId is not null && lastEventId.AsSpan().IndexOfAny("\r\n\0") >= 0)
        {
            // It goes into a header (Last-Event-ID): a line break would end the header early.
            throw new ArgumentException("lastEventId must be an event id from an earlier watch, on one line; nothing was sent", nameof(lastEventId));
        }

        return MachineWatch.WatchAsync(_requester, path, lastEventId, cancellationToken);
    }

    /// <summary>
    /// The path of a machine, by id or by name. Either form of a machine id (any case, surrounding white space trimmed) is
    /// sent in its canonical form, which is letters, digits and hyphens only. Any other text must be a valid machine name
    /// (<see cref="MachineNames.Problem"/>), sent as one percent-encoded path segment; <c>.</c> and <c>..</c> are refused
    /// too, since System.Uri (and the server) would read them as dot segments (<c>v1/machines/..</c> names the
    /// collection). Anything refused here is never sent.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="machineId"/> is neither a machine id nor a machine name.</exception>
    internal static string MachinePath(string machineId)
    {
        ArgumentNullException.ThrowIfNull(machineId);
        if (MachineIds.TryParse(machineId.Trim(), out var canonical))
        {
            return "v1/machines/" + canonical;
        }

        var problem = machineId is "." or ".." ? "is a dot segment, which no URL path can carry" : MachineNames.Problem(machineId);
        return problem is null
            ? "v1/machines/" + Uri.EscapeDataString(machineId)
            : throw new ArgumentException(
                $"'{IdText.Shown(machineId)}' is neither a machine id (dm-<uuid> or the bare uuid) nor a machine name (a name {problem}); nothing was sent",
                nameof(machineId));
    }
}
