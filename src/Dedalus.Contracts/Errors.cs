namespace Dedalus.Contracts;

/// <summary>The DCS error envelope returned with every 4xx and 5xx answer.</summary>
/// <param name="ErrorCode">Stable machine-readable code; see <see cref="ErrorCodes"/>.</param>
/// <param name="Message">What went wrong and what to do next.</param>
/// <param name="Retryable">Whether the same request may succeed later.</param>
/// <param name="RetryAfterMs">Suggested delay before a retry.</param>
/// <param name="Details">Structured details (field names, expected values).</param>
public sealed record ErrorEnvelope(
    string ErrorCode,
    string Message,
    bool Retryable,
    long? RetryAfterMs = null,
    IReadOnlyDictionary<string, string>? Details = null);

/// <summary>Stable error codes.</summary>
public static class ErrorCodes
{
    /// <summary>No API key was sent.</summary>
    public const string AuthRequired = "AUTH_REQUIRED";
    /// <summary>The API key is not valid.</summary>
    public const string AuthInvalid = "AUTH_INVALID";
    /// <summary><c>X-Dedalus-Org-Id</c> names another org than the key's.</summary>
    public const string AuthOrgMismatch = "AUTH_ORG_MISMATCH";
    /// <summary>The request may not come from where it does, or lacks its anti-forgery token: the web console's refusals of another site's page (a form post, a WebSocket) and of a mutation without its CSRF token.</summary>
    public const string Forbidden = "FORBIDDEN";
    /// <summary>No such resource (or not visible to this org).</summary>
    public const string NotFound = "NOT_FOUND";
    /// <summary>The request is malformed; the message names the problem.</summary>
    public const string InvalidRequest = "INVALID_REQUEST";
    /// <summary>Same idempotency key, different request.</summary>
    public const string IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED";
    /// <summary><c>If-Match</c> names a stale revision.</summary>
    public const string RevisionMismatch = "REVISION_MISMATCH";
    /// <summary>The transition is impossible from the current state.</summary>
    public const string InvalidState = "INVALID_STATE";
    /// <summary>Too many requests, or the idempotency key is in flight.</summary>
    public const string RateLimited = "RATE_LIMITED";
    /// <summary>A dependency (the runtime) is unavailable.</summary>
    public const string DependencyUnavailable = "DEPENDENCY_UNAVAILABLE";
    /// <summary>An unexpected server error.</summary>
    public const string Internal = "INTERNAL";
    /// <summary>An SSH session failed because its machine failed (the session's <c>error_code</c>).</summary>
    public const string MachineFailed = "MACHINE_FAILED";
    /// <summary>An SSH session ended or failed because its machine was destroyed (the session's <c>error_code</c>).</summary>
    public const string MachineDestroyed = "MACHINE_DESTROYED";
    /// <summary>The org's quota does not allow the request; <c>details.quota</c> names it, with its limit, use and the request.</summary>
    public const string QuotaExceeded = "QUOTA_EXCEEDED";
    /// <summary>The host cannot back the storage asked for; <c>details</c> carry what is committed and what the host can back.</summary>
    public const string InsufficientStorage = "INSUFFICIENT_STORAGE";
    /// <summary>No node has room for the machine's vCPU, memory or a gateway port; <c>details</c> carry the size asked for.</summary>
    public const string InsufficientCapacity = "INSUFFICIENT_CAPACITY";
    /// <summary>Another machine of the organization has the name asked for (409); <c>details.machine_id</c> names it.</summary>
    public const string MachineNameTaken = "MACHINE_NAME_TAKEN";
}

/// <summary>Keys of the error envelope's <c>details</c>.</summary>
public static class ErrorDetailKeys
{
    /// <summary>On <c>INVALID_REQUEST</c>: the request field, query parameter or header at fault.</summary>
    public const string Field = "field";
    /// <summary>On <c>NOT_FOUND</c>: what was not found; see <see cref="NotFoundResources"/>.</summary>
    public const string Resource = "resource";
    /// <summary>On <c>QUOTA_EXCEEDED</c>: the quota (<c>machines</c>, <c>vcpu</c>, <c>memory_mib</c>, <c>storage_gib</c>, <c>sessions</c>).</summary>
    public const string Quota = "quota";
}

/// <summary>Values of <see cref="ErrorDetailKeys.Resource"/> on a <c>NOT_FOUND</c> answer.</summary>
public static class NotFoundResources
{
    /// <summary>No such machine (or not visible to this org).</summary>
    public const string Machine = "machine";
    /// <summary>No such SSH session on that machine.</summary>
    public const string SshSession = "ssh_session";
    /// <summary>No such execution on that machine (or it expired).</summary>
    public const string Execution = "execution";
    /// <summary>No such execution log stream (not an id the server gives out).</summary>
    public const string LogStream = "log_stream";
    /// <summary>No such path: the request did not reach an operation of the API (a wrong base URL, or not a Dedalus server).</summary>
    public const string Path = "path";
}

/// <summary>HTTP header names of the DCS API.</summary>
public static class DedalusHeaders
{
    /// <summary>API key header (alternative to <c>Authorization: Bearer</c>).</summary>
    public const string ApiKey = "x-api-key";
    /// <summary>Org id the caller expects its key to belong to.</summary>
    public const string OrgId = "X-Dedalus-Org-Id";
    /// <summary>Idempotency key of a mutation.</summary>
    public const string IdempotencyKey = "Idempotency-Key";
    /// <summary>Storage operation id returned on mutations.</summary>
    public const string StorageOperationId = "X-Dedalus-Storage-Operation-Id";
}
