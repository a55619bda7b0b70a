namespace Dedalus.Server;

/// <summary>
/// Source-generated log messages of the server with stable event ids, by feature: 1000 HTTP, 1100 SSH authority,
/// 1200 sessions, 1300 reconciliation, 1400 hosting, 1500 gateway wiring, 1600 quotas, 1700 host identities (the runc engine uses 2000-2199,
/// the gateway 3000-3099). Never pass keys, certificates or tokens.
/// </summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path}")]
    public static partial void UnhandledException(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Created CA key {Name} ({Fingerprint})")]
    public static partial void CaKeyCreated(ILogger logger, string name, string fingerprint);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Loaded CA key {Name} ({Fingerprint})")]
    public static partial void CaKeyLoaded(ILogger logger, string name, string fingerprint);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Published SSH trust: {RevokedCount} revoked serials, KRL version {Version}")]
    public static partial void TrustPublished(ILogger logger, int revokedCount, ulong version);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "User CA rotated: new sessions are signed by {Fingerprint} (was {Previous})")]
    public static partial void UserCaRotated(ILogger logger, string fingerprint, string previous);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Host CA rotated: the machines' host CAs now derive from {Fingerprint} (was {Previous}); running machines get new host identities")]
    public static partial void HostCaRotated(ILogger logger, string fingerprint, string previous);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Information, Message = "Retired user CA {Fingerprint}: trusted by machines until {TrustedUntil:u}")]
    public static partial void RetiredUserCaLoaded(ILogger logger, string fingerprint, DateTimeOffset trustedUntil);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information, Message = "Machines now trust the user CAs {Fingerprints}")]
    public static partial void TrustedUserCasChanged(ILogger logger, string fingerprints);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Error, Message = "The CA files in {Directory} changed but could not be read; the keys loaded before stay in use")]
    public static partial void CaReloadFailed(ILogger logger, string directory, Exception exception);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Warning, Message = "Closed {Count} live SSH sessions whose certificates came from a user CA machines no longer trust; their connections were cut")]
    public static partial void UntrustedSessionsClosed(ILogger logger, int count);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Debug, Message = "SSH session {SessionId} on {MachineId}: {Status}, serial {Serial}")]
    public static partial void SessionCreated(ILogger logger, string sessionId, string machineId, string status, ulong serial);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "SSH session {SessionId} on {MachineId} closed: serial {Serial} revoked, {Connections} connections cut")]
    public static partial void SessionClosed(ILogger logger, string sessionId, string machineId, ulong serial, int connections);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Expired {Count} SSH sessions")]
    public static partial void SessionsExpired(ILogger logger, int count);

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Repairing {Count} machines after start")]
    public static partial void Repairing(ILogger logger, int count);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Machine {MachineId}: {From} -> {To} (revision {Revision})")]
    public static partial void PhaseChanged(ILogger logger, string machineId, string from, string to, long revision);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Machine {MachineId} provisioned")]
    public static partial void MachineProvisioned(ILogger logger, string machineId);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "Machine {MachineId} failed while going {DesiredState}")]
    public static partial void RuntimeFailed(ILogger logger, string machineId, string desiredState, Exception exception);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Warning, Message = "Machine {MachineId} runtime step failed while going {DesiredState} (attempt {Attempt}); retrying")]
    public static partial void RuntimeRetrying(ILogger logger, string machineId, string desiredState, int attempt, Exception exception);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Error, Message = "Reconciling {MachineId} crashed")]
    public static partial void ReconcileCrashed(ILogger logger, string machineId, Exception exception);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Information, Message = "Machine {MachineId} idle for {IdleSeconds} s: autosleep")]
    public static partial void Autosleep(ILogger logger, string machineId, long idleSeconds);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Error, Message = "Maintenance pass failed")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Warning, Message = "Reconciler stopped with runtime steps still running after {Grace}")]
    public static partial void ReconcilerStopTimedOut(ILogger logger, TimeSpan grace);

    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Dev credentials for org {OrgId} written to {Path}")]
    public static partial void DevCredentialsWritten(ILogger logger, string orgId, string path);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Dedalus server: data in {DataDirectory}, runtime {Runtime}, gateway {GatewayHost} ports {PortLow}-{PortHigh}")]
    public static partial void Starting(ILogger logger, string dataDirectory, string runtime, string gatewayHost, int portLow, int portHigh);

    [LoggerMessage(EventId = 1500, Level = LogLevel.Debug, Message = "Gateway for {MachineId} on port {Port} could not open")]
    public static partial void GatewayOpenFailed(ILogger logger, string machineId, int port, Exception exception);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "Gateway port {Port} of {MachineId} is not ours ({Result}, failed attempt {Failures}); retrying in {RetryIn}")]
    public static partial void GatewayPortUnavailable(ILogger logger, string machineId, int port, Gateway.PortOpenResult result, int failures, TimeSpan retryIn);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Machine {MachineId} moved from gateway port {From} ({Result}) to {To} (revision {Revision})")]
    public static partial void GatewayPortMoved(ILogger logger, string machineId, int from, int to, Gateway.PortOpenResult result, long revision);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Machine {MachineId} cannot leave gateway port {Port}: no other port of {Range} is free; retrying in {RetryIn}")]
    public static partial void GatewayPortNoneFree(ILogger logger, string machineId, int port, string range, TimeSpan retryIn);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "Live SSH connections not published; trying again in {Interval}")]
    public static partial void LiveConnectionsNotPublished(ILogger logger, TimeSpan interval, Exception exception);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Information, Message = "Gateway port {Port} of {MachineId} is ours again after {Failures} failed attempts")]
    public static partial void GatewayPortListening(ILogger logger, string machineId, int port, int failures);
    [LoggerMessage(EventId = 1700, Level = LogLevel.Information, Message = "Machine {MachineId}: new host key and certificate ({Reason}): key id {KeyId}, serial {Serial}, valid before {ValidBefore:u}")]
    public static partial void HostIdentityInstalled(ILogger logger, string machineId, string reason, string keyId, ulong serial, DateTimeOffset validBefore);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Warning, Message = "Machine {MachineId}: renewing the host certificate failed (current one valid before {ValidBefore:u}); retrying at the next sweep")]
    public static partial void HostIdentityRenewalFailed(ILogger logger, string machineId, DateTimeOffset? validBefore, Exception exception);

    [LoggerMessage(EventId = 1600, Level = LogLevel.Information, Message = "Org {OrgId}: {Quota} quota refused the request ({Used} of {Limit} in use, {Requested} more asked)")]
    public static partial void QuotaRefused(ILogger logger, string orgId, string quota, string used, string limit, string requested);

    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Org {OrgId}: the host cannot back {RequestedGib} GiB more storage ({CommittedGib} of {CapacityGib} GiB committed; {Capacity})")]
    public static partial void StorageRefused(ILogger logger, string orgId, long requestedGib, long committedGib, long capacityGib, string capacity);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Information, Message = "Default org quotas: {Quotas}; storage overcommit {Overcommit}")]
    public static partial void QuotaDefaults(ILogger logger, string quotas, double overcommit);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Warning, Message = "The default machines quota ({Limit}) covers the whole gateway port range ({Ports} ports): one org can take every port and make the others' creates fail")]
    public static partial void MachinesQuotaCoversPorts(ILogger logger, string limit, int ports);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Warning, Message = "Machine {MachineId}: a session answers without the host identity of the current host CA, which was not installed within {Hold}")]
    public static partial void HostIdentityNotCurrent(ILogger logger, string machineId, TimeSpan hold);

    [LoggerMessage(EventId = 1710, Level = LogLevel.Debug, Message = "Connection audit trimmed: {OverCap} rows over a machine's cap of {PerMachine}, {Expired} older than {Retention}")]
    public static partial void ConnectionAuditTrimmed(ILogger logger, int overCap, int perMachine, int expired, TimeSpan retention);

    [LoggerMessage(EventId = 1711, Level = LogLevel.Warning, Message = "Connection audit: {Deleted} rows deleted this sweep, its most; any rest goes in the next sweeps")]
    public static partial void ConnectionAuditBacklog(ILogger logger, int deleted);

    [LoggerMessage(EventId = 1800, Level = LogLevel.Information, Message = "Execution {ExecutionId} created on machine {MachineId}: {Program} ({Arguments} arguments), status {Status}")]
    public static partial void ExecutionCreated(ILogger logger, string executionId, string machineId, string program, int arguments, string status);

    [LoggerMessage(EventId = 1801, Level = LogLevel.Information, Message = "Execution {ExecutionId} on machine {MachineId} ended: {Status}, exit code {ExitCode}, signal {Signal}, error {ErrorCode}")]
    public static partial void ExecutionEnded(ILogger logger, string executionId, string machineId, string status, int? exitCode, int? signal, string? errorCode);

    [LoggerMessage(EventId = 1802, Level = LogLevel.Error, Message = "Execution {ExecutionId} on machine {MachineId}: unexpected error")]
    public static partial void ExecutionFailed(ILogger logger, Exception exception, string executionId, string machineId);

    [LoggerMessage(EventId = 1803, Level = LogLevel.Debug, Message = "Executions: {Deleted} expired deleted")]
    public static partial void ExecutionsPruned(ILogger logger, int deleted);

    [LoggerMessage(EventId = 1804, Level = LogLevel.Information, Message = "Execution {ExecutionId} on machine {MachineId} stored for node {NodeId}, which owns the machine")]
    public static partial void ExecutionHandedOff(ILogger logger, string executionId, string machineId, string nodeId);

    [LoggerMessage(EventId = 1805, Level = LogLevel.Information, Message = "Execution {ExecutionId} on machine {MachineId} claimed (created on another node)")]
    public static partial void ExecutionClaimed(ILogger logger, string executionId, string machineId);

    [LoggerMessage(EventId = 1806, Level = LogLevel.Warning,
        Message = "Execution {ExecutionId} on machine {MachineId}: its sealed input does not open with this node's server secret (do the nodes share one CA directory?)")]
    public static partial void ExecutionInputUnopenable(ILogger logger, string executionId, string machineId);

    [LoggerMessage(EventId = 1807, Level = LogLevel.Information, Message = "Execution {ExecutionId} on machine {MachineId}: cancel asked of node {NodeId}, which drives it")]
    public static partial void ExecutionCancelForwarded(ILogger logger, string executionId, string machineId, string nodeId);

    [LoggerMessage(EventId = 1900, Level = LogLevel.Information, Message = "Machine {MachineId}: memory autoresized from {FromMib} MiB to {ToMib} MiB (ceiling {CeilingMib} MiB)")]
    public static partial void MemoryAutoresized(ILogger logger, string machineId, long fromMib, long toMib, long ceilingMib);

    [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "Machine {MachineId}: memory autoresizing failed")]
    public static partial void AutoresizeMachineFailed(ILogger logger, string machineId, Exception exception);

    [LoggerMessage(EventId = 1902, Level = LogLevel.Error, Message = "Memory autoresizing pass failed")]
    public static partial void AutoresizeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1950, Level = LogLevel.Information, Message = "Machine {MachineId}: network address {Address}")]
    public static partial void NetworkAddressAssigned(ILogger logger, string machineId, string address);

    [LoggerMessage(EventId = 1951, Level = LogLevel.Information, Message = "Machine network {Subnet} (host side {Gateway}, instance {Instance}) ready in {ElapsedMs} ms")]
    public static partial void NetworkReady(ILogger logger, string subnet, string gateway, string instance, long elapsedMs);

    [LoggerMessage(EventId = 1952, Level = LogLevel.Information, Message = "Machine network {Instance} shut down")]
    public static partial void NetworkShutDown(ILogger logger, string instance);

    [LoggerMessage(EventId = 1953, Level = LogLevel.Warning, Message = "Machine network {Instance}: shutdown failed")]
    public static partial void NetworkShutdownFailed(ILogger logger, string instance, Exception exception);

    [LoggerMessage(EventId = 1960, Level = LogLevel.Information,
        Message = "Node {NodeId} ({Name}) registered: gateway {GatewayHost}:{PortLow}-{PortHigh}, capacity {Vcpu} vCPU, {MemoryMib} MiB, {StorageGib} GiB")]
    public static partial void NodeRegistered(ILogger logger, string nodeId, string name, string gatewayHost, int portLow, int portHigh, double vcpu, long memoryMib, long storageGib);

    [LoggerMessage(EventId = 1961, Level = LogLevel.Warning, Message = "Node heartbeat failed; trying again in {Interval}")]
    public static partial void NodeHeartbeatFailed(ILogger logger, TimeSpan interval, Exception exception);

    [LoggerMessage(EventId = 1962, Level = LogLevel.Warning, Message = "Node {NodeId} ({Name}) is lost: no heartbeat since {HeartbeatAt:O}; its machines read failed (node_lost)")]
    public static partial void NodeLost(ILogger logger, string nodeId, string name, DateTimeOffset heartbeatAt);

    [LoggerMessage(EventId = 1963, Level = LogLevel.Information, Message = "Node {NodeId} ({Name}) is back")]
    public static partial void NodeBack(ILogger logger, string nodeId, string name);

    [LoggerMessage(EventId = 1964, Level = LogLevel.Information, Message = "Machine {MachineId} placed on node {NodeId} ({Name}), gateway port range {PortLow}-{PortHigh}")]
    public static partial void MachinePlaced(ILogger logger, string machineId, string nodeId, string name, int portLow, int portHigh);

    [LoggerMessage(EventId = 1965, Level = LogLevel.Warning, Message = "Cluster signal {Signal} not sent; the nodes catch up at their next sweep")]
    public static partial void ClusterSignalNotSent(ILogger logger, string signal, Exception exception);

    [LoggerMessage(EventId = 1966, Level = LogLevel.Warning, Message = "Cluster signals: listening failed; reconnecting in {Delay}")]
    public static partial void ClusterListenFailed(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 1967, Level = LogLevel.Information, Message = "Cluster signals: listening on {Channel}")]
    public static partial void ClusterListening(ILogger logger, string channel);

    [LoggerMessage(EventId = 1968, Level = LogLevel.Warning, Message = "Cluster signal {Signal} failed")]
    public static partial void ClusterSignalFailed(ILogger logger, string signal, Exception exception);

    [LoggerMessage(EventId = 1410, Level = LogLevel.Warning, Message = "The store cannot be reached ({Where}): {Reason}; requests answer 503 and background work retries at its next tick ({Unsaid} more failures since the last warning)")]
    public static partial void StoreUnavailable(ILogger logger, string where, string reason, int unsaid);
}
