namespace Dedalus.Server.Store;

/// <summary>
/// The control plane's state. SQLite is the embedded default (<see cref="Sqlite.SqliteStore"/>); PostgreSQL
/// (<see cref="Postgres.PostgresStore"/>) fills the same contract for scale-out. Every method is one short operation.
/// </summary>
public interface IStore
{
    // Orgs and API keys.
    Task<string> EnsureOrgAsync(string name, DateTimeOffset now, CancellationToken cancellationToken = default);
    Task AddApiKeyAsync(byte[] keyHash, string keyPrefix, string orgId, DateTimeOffset now, CancellationToken cancellationToken = default);
    Task<string?> FindOrgByApiKeyHashAsync(byte[] keyHash, CancellationToken cancellationToken = default);

    /// <summary>The org's RAM autoresizing policy (off by default).</summary>
    Task<bool> GetOrgAutoresizeAsync(string orgId, CancellationToken cancellationToken = default);

    /// <summary>Sets the org's RAM autoresizing policy.</summary>
    Task SetOrgAutoresizeAsync(string orgId, bool enabled, CancellationToken cancellationToken = default);

    /// <summary>Ids of the orgs whose autoresizing policy is on.</summary>
    Task<IReadOnlySet<string>> ListAutoresizeOrgsAsync(CancellationToken cancellationToken = default);

    // Nodes.
    /// <summary>
    /// Records the node (insert, or replace every field of its row). Machines without a node (stored before nodes
    /// existed) become its own: only an embedded store can hold such rows, and its one node owns everything.
    /// </summary>
    Task RegisterNodeAsync(NodeRecord node, CancellationToken cancellationToken = default);

    /// <summary>Stamps the node alive at <paramref name="now"/> with the storage its disk can back and its CAs' fingerprint now; false when its row is gone.</summary>
    Task<bool> HeartbeatNodeAsync(string nodeId, DateTimeOffset now, long storageGib, string caFingerprint, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default);

    // Machines.
    /// <summary>
    /// Inserts a machine on the node <paramref name="place"/> chooses, with the lowest free gateway port of that node's
    /// range; null when the range is exhausted. <paramref name="admit"/>, when given, runs first in the same
    /// transaction, then <paramref name="place"/>; both refuse by throwing (nothing is written). Concurrent inserts are
    /// serialised, so two of them never fill the same room or take the same port.
    /// </summary>
    Task<MachineRecord?> InsertMachineAsync(MachineRecord machine, Func<IResourceReader, MachinePlacement> place, Func<MachineRecord, string> eventPayload, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default);
    Task<MachineRecord?> GetMachineAsync(string machineId, CancellationToken cancellationToken = default);
    /// <summary>
    /// A page of the org's machines; destroyed ones only while their destruction is no older than
    /// <paramref name="destroyedSince"/>.
    /// </summary>
    Task<Page<MachineRecord>> ListMachinesAsync(string orgId, long after, int limit, DateTimeOffset destroyedSince, CancellationToken cancellationToken = default);

    /// <summary>The org's machine named <paramref name="name"/> that is not destroyed, if any.</summary>
    Task<MachineRecord?> FindMachineByNameAsync(string orgId, string name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<MachineRecord>> ListLiveMachinesAsync(CancellationToken cancellationToken = default);
    /// <summary>
    /// Writes <paramref name="machine"/> if the stored revision is still <paramref name="expectedRevision"/> and, when its
    /// gateway port changes, no other live machine of its node has the new port; appends its event. <paramref name="admit"/>, when
    /// given, runs first in the same transaction and refuses by throwing (nothing is written).
    /// </summary>
    Task<bool> TryUpdateMachineAsync(MachineRecord machine, long expectedRevision, string eventPayload, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default);
    /// <summary>
    /// The machine's network address: the one it has when <paramref name="keep"/> accepts it, else the first of
    /// <paramref name="candidates"/> that no other machine that is not destroyed holds, stored. Null when the machine is
    /// gone or every candidate is taken. Not a revision: the address is the server's, not the caller's.
    /// </summary>
    Task<string?> AssignNetworkAddressAsync(string machineId, IEnumerable<string> candidates, Func<string, bool> keep, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<MachineEvent>> GetMachineEventsAsync(string machineId, long after, CancellationToken cancellationToken = default);

    // SSH sessions.
    /// <summary>
    /// Stores a new session (creating it is activity on its machine); returns the machine's revision at that moment, -1 when the machine is gone.
    /// <paramref name="admit"/>, when given, runs first in the same transaction and refuses by throwing (nothing is written).
    /// </summary>
    Task<long> InsertSessionAsync(SessionRecord session, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default);
    Task<SessionRecord?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default);
    Task<Page<SessionRecord>> ListSessionsAsync(string machineId, long after, int limit, CancellationToken cancellationToken = default);
    /// <summary>Every open (<c>ready</c>, <c>wake_in_progress</c>, <c>ssh_in_progress</c>) unexpired session that holds a certificate, of every machine.</summary>
    Task<IReadOnlyList<SessionRecord>> ListLiveSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken = default);
    /// <summary>Turns the machine's waiting (<c>wake_in_progress</c>, <c>ssh_in_progress</c>) unexpired sessions ready.</summary>
    Task<int> MarkSessionsReadyAsync(string machineId, DateTimeOffset now, CancellationToken cancellationToken = default);
    /// <summary>Gives the machine's waiting unexpired sessions the waiting status <paramref name="status"/> (<c>wake_in_progress</c> or <c>ssh_in_progress</c>).</summary>
    Task<int> MarkSessionsWaitingAsync(string machineId, string status, DateTimeOffset now, CancellationToken cancellationToken = default);
    /// <summary>Fails the machine's waiting (<c>wake_in_progress</c>, <c>ssh_in_progress</c>) sessions.</summary>
    Task<int> FailWaitingSessionsAsync(string machineId, string errorCode, string errorMessage, CancellationToken cancellationToken = default);
    /// <summary>
    /// Ends every open session of a destroyed machine in one transaction: <c>ready</c> ones become <c>closed</c>,
    /// waiting ones <c>failed</c>, both with the error; every unexpired serial is revoked. Returns how many were revoked.
    /// </summary>
    Task<int> EndMachineSessionsAsync(string machineId, DateTimeOffset now, string errorCode, string errorMessage, CancellationToken cancellationToken = default);
    /// <summary>Marks every open session whose <c>expires_at</c> has passed as expired.</summary>
    Task<int> ExpireSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken = default);
    /// <summary>Closes a session and records its serial as revoked, in one transaction. False when it was no longer open.</summary>
    Task<bool> CloseSessionAsync(string sessionId, DateTimeOffset now, CancellationToken cancellationToken = default);
    /// <summary>Serials revoked whose certificates have not yet lapsed, and the highest revocation time (the KRL version).</summary>
    Task<IReadOnlyList<ulong>> ListRevokedSerialsAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    // Gateway audit.
    /// <summary>Stores the audit row of a finished connection and, with <see cref="ConnectionAudit.Live"/>, deletes its live row in the same transaction.</summary>
    Task RecordConnectionAsync(ConnectionAudit audit, CancellationToken cancellationToken = default);
    /// <summary>Whether the machine has a session that can still log in (ready or waiting, unexpired).</summary>
    Task<bool> HasLiveSessionAsync(string machineId, DateTimeOffset now, CancellationToken cancellationToken = default);
    /// <summary>
    /// Deletes at most <paramref name="batch"/> audit rows, in one short transaction: first the oldest rows of machines
    /// that have more than <paramref name="perMachine"/> (the machines with the most first), then rows whose connection
    /// ended before <paramref name="endedBefore"/> (oldest first). Index lookups only, so a caller may repeat it until it
    /// deletes less than the batch. Destroyed machines' rows are trimmed alike.
    /// </summary>
    Task<ConnectionAuditTrim> TrimConnectionsAsync(DateTimeOffset endedBefore, int perMachine, int batch, CancellationToken cancellationToken = default);

    /// <summary>
    /// A page of the machine's audit rows, newest first (by insertion, which is the order connections ended): rows
    /// inserted before the row <paramref name="before"/> (0: from the newest); <see cref="Page{T}.NextAfter"/> is the
    /// <paramref name="before"/> of the next page.
    /// </summary>
    Task<Page<ConnectionAudit>> ListConnectionHistoryAsync(string machineId, long before, int limit, CancellationToken cancellationToken = default);

    // Live gateway connections.
    /// <summary>
    /// Makes <paramref name="open"/> the node's whole set of live connections, in one transaction: its other rows are
    /// deleted (connections that ended, or every row with an empty set: what a node left open when it stopped or
    /// crashed). Every record's <see cref="LiveConnectionRecord.NodeId"/> must be <paramref name="nodeId"/>.
    /// </summary>
    Task ReplaceLiveConnectionsAsync(string nodeId, IReadOnlyList<LiveConnectionRecord> open, CancellationToken cancellationToken = default);

    /// <summary>
    /// The machine's live connections as their nodes last wrote them, oldest first, of every node: lost ones too, which
    /// the caller leaves out (the store does not know how long a heartbeat may be late).
    /// </summary>
    Task<IReadOnlyList<LiveConnectionRecord>> ListLiveConnectionsAsync(string machineId, CancellationToken cancellationToken = default);

    // Executions.
    /// <summary>
    /// Stores a new execution with its first event (creating one is activity on its machine); false when the machine is
    /// gone. <paramref name="admit"/>, when given, runs first in the same transaction and refuses by throwing.
    /// </summary>
    /// <remarks>
    /// An execution created on a node that does not own its machine is stored unclaimed (<see cref="ExecutionRecord.Runner"/>
    /// empty) with <paramref name="sealedInput"/>, the input that is never stored in clear, sealed for the owner (<see
    /// cref="ClaimExecutionAsync"/>).
    /// </remarks>
    Task<ExecutionRecord?> InsertExecutionAsync(
        ExecutionRecord execution, ExecutionEventRecord created, Action<IResourceReader>? admit = null, byte[]? sealedInput = null, CancellationToken cancellationToken = default);
    Task<ExecutionRecord?> GetExecutionAsync(string executionId, CancellationToken cancellationToken = default);
    Task<Page<ExecutionRecord>> ListExecutionsAsync(string machineId, long after, int limit, CancellationToken cancellationToken = default);
    /// <summary>
    /// Writes a live execution's new state and appends <paramref name="events"/> after its last one, in one transaction;
    /// null (nothing written) when the stored execution is no longer live. When the new state is finished, the machine's
    /// finished executions beyond its newest <paramref name="keepPerMachine"/> are deleted in the same transaction.
    /// </summary>
    Task<ExecutionRecord?> UpdateExecutionAsync(ExecutionRecord execution, IReadOnlyList<ExecutionEventRecord> events, int keepPerMachine, CancellationToken cancellationToken = default);
    /// <summary>At most <paramref name="limit"/> events with a sequence above <paramref name="after"/>, in order.</summary>
    Task<IReadOnlyList<ExecutionEventRecord>> ListExecutionEventsAsync(long executionSeq, long after, int limit, CancellationToken cancellationToken = default);
    /// <summary>The kept stdout and stderr: the chunks of the execution's output events, in order.</summary>
    Task<(string Stdout, string Stderr)> GetExecutionOutputAsync(long executionSeq, CancellationToken cancellationToken = default);
    /// <summary>
    /// Every live execution claimed by a runner other than <paramref name="runner"/>. Unclaimed ones (runner empty) are
    /// not orphans: they wait for their machine's node (<see cref="ListUnclaimedExecutionsAsync"/>).
    /// </summary>
    Task<IReadOnlyList<ExecutionRecord>> ListOrphanedExecutionsAsync(string runner, CancellationToken cancellationToken = default);
    /// <summary>Every live execution no runner has claimed yet (created on a node that does not own its machine), oldest first.</summary>
    Task<IReadOnlyList<ExecutionRecord>> ListUnclaimedExecutionsAsync(CancellationToken cancellationToken = default);
    /// <summary>
    /// Claims a live, unclaimed execution for <paramref name="runner"/> and deletes its sealed input in the same write,
    /// returning the execution as claimed and the sealed input; null when it is gone, finished or already claimed (so
    /// exactly one caller wins).
    /// </summary>
    Task<ClaimedExecution?> ClaimExecutionAsync(string executionId, string runner, CancellationToken cancellationToken = default);
    /// <summary>
    /// Records a cancel asked on a node that does not drive the execution (<see cref="ExecutionRecord.CancelRequested"/>,
    /// only while it is live); returns the execution as stored afterwards, null when it is gone.
    /// </summary>
    Task<ExecutionRecord?> RequestExecutionCancelAsync(string executionId, CancellationToken cancellationToken = default);
    /// <summary>Raises the execution's log token epoch (every token issued before is refused); returns the new epoch, or null when it is gone.</summary>
    Task<int?> AdvanceExecutionTokenEpochAsync(string executionId, CancellationToken cancellationToken = default);
    /// <summary>Deletes at most <paramref name="batch"/> executions (with their events) whose <c>expires_at</c> has passed.</summary>
    Task<int> DeleteExpiredExecutionsAsync(DateTimeOffset now, int batch, CancellationToken cancellationToken = default);

    // Idempotency.
    /// <summary>Claims <paramref name="key"/> for a request; returns the existing record when the key is already taken.</summary>
    Task<IdempotencyRecord?> TryBeginIdempotentAsync(string orgId, string key, string requestHash, DateTimeOffset now, CancellationToken cancellationToken = default);
    Task CompleteIdempotentAsync(string orgId, string key, int statusCode, string? etag, string? contentType, byte[] body, string? storageOperationId = null, CancellationToken cancellationToken = default);
    Task AbandonIdempotentAsync(string orgId, string key, CancellationToken cancellationToken = default);

    // Quotas.
    Task<OrgRecord?> FindOrgAsync(string name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<OrgRecord>> ListOrgsAsync(CancellationToken cancellationToken = default);
    /// <summary>The org's quota overrides (quota name to limit text), read on their own: one query, no transaction.</summary>
    Task<IReadOnlyDictionary<string, string>> GetQuotaOverridesAsync(string orgId, CancellationToken cancellationToken = default);

    /// <summary>Sets (a value) or removes (null) the org's quota overrides, by quota name, in one transaction.</summary>
    Task SetQuotaOverridesAsync(string orgId, IReadOnlyDictionary<string, string?> changes, DateTimeOffset now, CancellationToken cancellationToken = default);
    /// <summary>Runs <paramref name="read"/> on a consistent snapshot (a read transaction), outside the write lock.</summary>
    Task<T> ReadResourcesAsync<T>(Func<IResourceReader, T> read, CancellationToken cancellationToken = default);
    /// <summary>Replaces the recorded settings of the running server (configuration key to canonical text).</summary>
    Task SaveServerSettingsAsync(IReadOnlyDictionary<string, string> settings, DateTimeOffset now, CancellationToken cancellationToken = default);
    Task<IReadOnlyDictionary<string, string>> GetServerSettingsAsync(CancellationToken cancellationToken = default);

    // Console browser sessions.
    /// <summary>Stores a new browser session of the web console.</summary>
    Task InsertConsoleSessionAsync(ConsoleSessionRecord session, CancellationToken cancellationToken = default);

    /// <summary>
    /// The browser session whose token hashes to <paramref name="tokenHash"/>, when it has not expired (absolute or idle)
    /// at <paramref name="now"/> and the API key it was signed in with is still there and not revoked; else null.
    /// </summary>
    Task<ConsoleSessionRecord?> FindConsoleSessionAsync(byte[] tokenHash, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Records use of a session that has not expired at <paramref name="now"/>: last seen now, idle end moved to <paramref name="idleExpiresAt"/>. False when it is gone or expired.</summary>
    Task<bool> TouchConsoleSessionAsync(string sessionId, DateTimeOffset now, DateTimeOffset idleExpiresAt, CancellationToken cancellationToken = default);

    /// <summary>Deletes a browser session (sign-out); false when it was already gone.</summary>
    Task<bool> DeleteConsoleSessionAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Deletes every browser session that expired (absolute or idle) at or before <paramref name="now"/>; returns how many.</summary>
    Task<int> DeleteExpiredConsoleSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    // Retention.
    /// <summary>Deletes idempotency records and machine events older than <paramref name="before"/>, and revocations of lapsed certificates.</summary>
    Task<int> PruneAsync(DateTimeOffset before, DateTimeOffset now, CancellationToken cancellationToken = default);
}
