namespace Dedalus.Server.Errors;

/// <summary>
/// What went wrong, in the domain's words. The HTTP edge maps each kind to a status code and a DCS error code in
/// one place (<c>Http/ErrorResponses.cs</c>); nothing else decides a status.
/// </summary>
public enum ErrorKind
{
    /// <summary>The request is malformed or asks for an impossible value; <c>details.field</c> names it.</summary>
    InvalidRequest,

    /// <summary>No credentials were sent.</summary>
    AuthenticationRequired,

    /// <summary>The credentials are not valid.</summary>
    AuthenticationFailed,

    /// <summary>The caller names an org other than its credentials'.</summary>
    OrgMismatch,

    /// <summary>The request is refused whoever sends it this way: from another site's page (a form post, a WebSocket), or a mutation without its anti-forgery token.</summary>
    Forbidden,

    /// <summary>No such resource, or not visible to the caller; <c>details.resource</c> says which kind.</summary>
    NotFound,

    /// <summary>The resource's state does not allow the operation (a destroyed machine cannot wake).</summary>
    InvalidState,

    /// <summary>Another machine of the org has the name asked for.</summary>
    NameTaken,

    /// <summary>The caller's revision (<c>If-Match</c>) is stale.</summary>
    RevisionMismatch,

    /// <summary>An idempotency key was reused for another request.</summary>
    IdempotencyKeyReused,

    /// <summary>The same operation is still running (an idempotency key in flight); retry shortly.</summary>
    Busy,

    /// <summary>A dependency (store, runtime, port range) cannot serve the request now; retry later.</summary>
    Unavailable,

    /// <summary>The org's quota refuses the request; it stays refused until the org frees something or the operator raises the quota.</summary>
    QuotaExceeded,

    /// <summary>
    /// The org's quota refuses the request for now: what holds it ends by itself (live sessions expire, machines being
    /// destroyed release their share), and the same request may pass then.
    /// </summary>
    QuotaExceededForNow,

    /// <summary>The host cannot back the storage asked for.</summary>
    InsufficientStorage,

    /// <summary>No node has room (vCPU, memory or gateway ports) for the machine asked for.</summary>
    InsufficientCapacity,
}
