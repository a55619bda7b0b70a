using System.Globalization;
using Dedalus.Client.Http;
using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// The <c>/v1/machines/{id}/executions</c> resource: commands run in a machine through the API, without SSH. Ids are
/// checked before anything is sent: a machine id in neither form, or an execution id that is not one path segment of
/// letters, digits, <c>-</c> and <c>_</c>, is an <see cref="ArgumentException"/>.
/// </summary>
/// <example>
/// <code>
/// var result = await client.Machines.Executions.RunAsync(machineId, new CreateExecutionRequest(["uname", "-a"]));
/// Console.Write(result.Stdout);
/// return result.ExitCode ?? 1;
/// </code>
/// </example>
public sealed partial class ExecutionsResource
{
    private readonly ApiRequester _requester;

    internal ExecutionsResource(ApiRequester requester)
    {
        _requester = requester;
    }

    /// <summary>
    /// Starts a command in a machine (<c>POST /v1/machines/{id}/executions</c>). The command is an argv (no shell: wrap
    /// it in <c>["sh", "-c", "..."]</c> for one); it runs as the <c>machine</c> user with a clean environment plus
    /// <see cref="CreateExecutionRequest.Env"/>. A sleeping machine is woken: the execution is then
    /// <c>wake_in_progress</c>, later <c>queued</c> and <c>running</c>.
    /// </summary>
    /// <param name="machineId">The machine id (<c>dm-&lt;uuid&gt;</c> or the bare uuid).</param>
    /// <param name="request">The argv and its working directory, environment, stdin and time limit.</param>
    /// <param name="cancellationToken">Cancels the call (an execution the server already accepted keeps running).</param>
    /// <returns>The new execution; see <see cref="WaitUntilFinishedAsync"/> to wait for its end.</returns>
    public Task<Execution> CreateAsync(string machineId, CreateExecutionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _requester.SendAsync(
            HttpMethod.Post, ExecutionsPath(machineId), request,
            DedalusJsonContext.Default.CreateExecutionRequest, DedalusJsonContext.Default.Execution, cancellationToken);
    }

    /// <summary>Reads one execution (<c>GET /v1/machines/{id}/executions/{execution_id}</c>).</summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="executionId">The execution id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The execution.</returns>
    public Task<Execution> GetAsync(string machineId, string executionId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, ExecutionPath(machineId, executionId), DedalusJsonContext.Default.Execution, cancellationToken);

    /// <summary>
    /// Lists a machine's executions, oldest first, fetching further pages as the caller enumerates. Stops on an empty
    /// page, an absent cursor or a cursor the server already sent.
    /// </summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="limit">Page size to ask for; the server's default when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The executions the server still keeps.</returns>
    public IAsyncEnumerable<Execution> ListAsync(string machineId, int? limit = null, CancellationToken cancellationToken = default) =>
        Paging.EnumerateAsync(
            (cursor, ct) => ListPageAsync(machineId, limit, cursor, ct),
            page => (page.Items, page.NextCursor),
            cancellationToken);

    /// <summary>Reads one page of a machine's executions (<c>GET /v1/machines/{id}/executions?limit=&amp;cursor=</c>).</summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="limit">Page size to ask for.</param>
    /// <param name="cursor">The <c>next_cursor</c> of the previous page; <see langword="null"/> for the first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    public Task<ExecutionList> ListPageAsync(string machineId, int? limit = null, string? cursor = null, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, Paging.Query(ExecutionsPath(machineId), limit, cursor), DedalusJsonContext.Default.ExecutionList, cancellationToken);

    /// <summary>
    /// Cancels an execution (<c>DELETE /v1/machines/{id}/executions/{execution_id}</c>): a live one ends as
    /// <c>cancelled</c> (its process tree is killed); a finished one is returned unchanged.
    /// </summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="executionId">The execution id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The execution after the cancel.</returns>
    public Task<Execution> CancelAsync(string machineId, string executionId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Delete, ExecutionPath(machineId, executionId), DedalusJsonContext.Default.Execution, cancellationToken);

    /// <summary>
    /// Reads the output the server kept (<c>GET .../executions/{execution_id}/output</c>): stdout and stderr as text, each
    /// cut at the server's bound (<c>*_truncated</c>), with the exact number of bytes written (<c>*_bytes</c>).
    /// </summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="executionId">The execution id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The kept output (so far, while the execution runs).</returns>
    public Task<ExecutionOutput> GetOutputAsync(string machineId, string executionId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, ExecutionPath(machineId, executionId) + "/output", DedalusJsonContext.Default.ExecutionOutput, cancellationToken);

    /// <summary>
    /// Reads one page of an execution's events in <c>sequence</c> order (<c>GET .../executions/{execution_id}/events</c>):
    /// <c>lifecycle</c> status changes and <c>stdout</c>/<c>stderr</c> chunks. <see cref="ExecutionEventList.NextCursor"/>
    /// stays present while the execution runs; <see cref="FollowEventsAsync"/> does the paging and the waiting.
    /// </summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="executionId">The execution id.</param>
    /// <param name="limit">Page size to ask for; the server's default when <see langword="null"/>.</param>
    /// <param name="cursor">The <c>next_cursor</c> of the previous page; <see langword="null"/> for the first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    public Task<ExecutionEventList> ListEventsAsync(
        string machineId,
        string executionId,
        int? limit = null,
        string? cursor = null,
        CancellationToken cancellationToken = default) =>
        ListEventsAsync(machineId, executionId, limit, cursor, waitMs: null, cancellationToken);

    /// <summary>Reads the state of an execution's log publication (<c>GET .../executions/{execution_id}/logs</c>).</summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="executionId">The execution id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How complete the captured log is, its stream id and the publication's state.</returns>
    public Task<ExecutionLogStatus> GetLogsAsync(string machineId, string executionId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, ExecutionPath(machineId, executionId) + "/logs", DedalusJsonContext.Default.ExecutionLogStatus, cancellationToken);

    /// <summary>
    /// Revokes every log token issued so far for an execution (<c>POST .../executions/{execution_id}/logs/reauthorize</c>);
    /// tokens created afterwards work.
    /// </summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="executionId">The execution id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The log's state after the revocation.</returns>
    public Task<ExecutionLogStatus> ReauthorizeLogsAsync(string machineId, string executionId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Post, ExecutionPath(machineId, executionId) + "/logs/reauthorize", DedalusJsonContext.Default.ExecutionLogStatus, cancellationToken);

    /// <summary>
    /// Creates a short-lived bearer token that reads this one execution's log stream on the log-read service
    /// (<c>POST .../executions/{execution_id}/logs/token</c>); hand it to a reader that should see this log and nothing
    /// else, or read it with <see cref="ReadLogStreamAsync"/>.
    /// </summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="executionId">The execution id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The token, the service's base URL, the stream id and the expiry.</returns>
    public Task<ExecutionLogToken> CreateLogTokenAsync(string machineId, string executionId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Post, ExecutionPath(machineId, executionId) + "/logs/token", DedalusJsonContext.Default.ExecutionLogToken, cancellationToken);

    /// <summary>One page of events; <paramref name="waitMs"/> asks this server to hold an empty page that long (a long poll).</summary>
    private Task<ExecutionEventList> ListEventsAsync(
        string machineId,
        string executionId,
        int? limit,
        string? cursor,
        int? waitMs,
        CancellationToken cancellationToken)
    {
        var path = Paging.Query(ExecutionPath(machineId, executionId) + "/events", limit, cursor);
        if (waitMs is { } wait)
        {
            path += (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "wait_ms=" + wait.ToString(CultureInfo.InvariantCulture);
        }

        return _requester.SendAsync(HttpMethod.Get, path, DedalusJsonContext.Default.ExecutionEventList, cancellationToken);
    }

    private static string ExecutionsPath(string machineId) => MachinesResource.MachinePath(machineId) + "/executions";

    /// <summary>The path of an execution; an execution id that is not one plain path segment is refused and nothing is sent.</summary>
    /// <exception cref="ArgumentException"><paramref name="machineId"/> or <paramref name="executionId"/> is not an id.</exception>
    private static string ExecutionPath(string machineId, string executionId)
    {
        ArgumentNullException.ThrowIfNull(executionId);
        var machinePath = ExecutionsPath(machineId);
        return ExecutionIdShape.IsWellFormed(executionId)
            ? machinePath + "/" + executionId
            : throw new ArgumentException(
                $"'{IdText.Shown(executionId)}' is not an execution id: pass an execution's execution_id, {ExecutionIdShape.FormatDescription}; nothing was sent",
                nameof(executionId));
    }
}
