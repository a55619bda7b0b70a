using Dedalus.Client.Http;
using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// The <c>/v1/machines</c> resource. Machine ids are checked before anything is sent: text that is neither
/// <c>dm-&lt;uuid&gt;</c> nor a bare uuid is an <see cref="ArgumentException"/>.
/// </summary>
public sealed partial class MachinesResource
{
    private readonly ApiRequester _requester;

    internal MachinesResource(ApiRequester requester)
    {
        _requester = requester;
        Ssh = new SshSessionsResource(requester);
        Executions = new ExecutionsResource(requester);
    }

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
    /// <param name="machineId">The machine id (<c>dm-&lt;uuid&gt;</c> or the bare uuid).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine.</returns>
    public Task<Machine> RetrieveAsync(string machineId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, MachinePath(machineId), DedalusJsonContext.Default.Machine, cancellationToken);

    /// <summary>Resizes a machine or changes its autosleep (<c>PATCH /v1/machines/{id}</c>).</summary>
    /// <param name="machineId">The machine id.</param>
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
    /// <param name="machineId">The machine id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine, now with desired state <c>destroyed</c>.</returns>
    public Task<Machine> DeleteAsync(string machineId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Delete, MachinePath(machineId), DedalusJsonContext.Default.Machine, cancellationToken);

    /// <summary>Puts a machine to sleep (<c>POST /v1/machines/{id}/sleep</c>); storage is kept.</summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine, now with desired state <c>sleeping</c>.</returns>
    public Task<Machine> SleepAsync(string machineId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Post, MachinePath(machineId) + "/sleep", DedalusJsonContext.Default.Machine, cancellationToken);

    /// <summary>Wakes a sleeping machine (<c>POST /v1/machines/{id}/wake</c>).</summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The machine, now with desired state <c>running</c>.</returns>
    public Task<Machine> WakeAsync(string machineId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Post, MachinePath(machineId) + "/wake", DedalusJsonContext.Default.Machine, cancellationToken);

    /// <summary>
    /// Follows a machine's status events (<c>GET /v1/machines/{id}/status/stream</c>, server-sent events).
    /// A dropped stream is resumed with <c>Last-Event-ID</c>; the enumeration ends when the server closes the
    /// stream (the machine reached its desired state) or the caller stops.
    /// </summary>
    /// <param name="machineId">The machine id.</param>
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
    /// The path of a machine. Either form of a machine id (any case, surrounding white space trimmed) is sent in its
    /// canonical form, which is letters, digits and hyphens only. Any other text is refused here and nothing is sent:
    /// System.Uri would remove a <c>..</c> from the path (so <c>v1/machines/..</c> would name the collection) and the
    /// server could only guess what was meant.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="machineId"/> is not a machine id.</exception>
    internal static string MachinePath(string machineId)
    {
        ArgumentNullException.ThrowIfNull(machineId);
        return MachineIds.TryParse(machineId.Trim(), out var canonical)
            ? "v1/machines/" + canonical
            : throw new ArgumentException(
                $"'{IdText.Shown(machineId)}' is not a machine id: pass dm-<uuid> or the bare uuid, as a machine's machine_id; nothing was sent",
                nameof(machineId));
    }
}
