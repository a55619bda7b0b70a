namespace Dedalus.Contracts;

/// <summary>Body of <c>POST /v1/machines/{id}/ssh</c>.</summary>
/// <param name="PublicKey">The client's public key as an authorized_keys line (<c>type base64 [comment]</c>).</param>
public sealed record CreateSshSessionRequest(string? PublicKey);

/// <summary>An SSH session: a short-lived certificate for one key on one machine.</summary>
/// <param name="SessionId">The session id (also the certificate's key id).</param>
/// <param name="MachineId">The machine this session is for.</param>
/// <param name="Status">See <see cref="SshSessionStatuses"/>.</param>
/// <param name="CreatedAt">When the session was created.</param>
/// <param name="Connection">How to connect; present once <c>ready</c>.</param>
/// <param name="ReadyAt">When the session became ready.</param>
/// <param name="ExpiresAt">When the certificate stops being valid.</param>
/// <param name="RetryAfterMs">Suggested poll delay while not ready.</param>
/// <param name="ErrorCode">Why the session failed, when <c>failed</c>.</param>
/// <param name="ErrorMessage">Human-readable failure reason, when <c>failed</c>.</param>
public sealed record SshSession(
    string SessionId,
    string MachineId,
    string Status,
    DateTimeOffset CreatedAt,
    SshConnection? Connection = null,
    DateTimeOffset? ReadyAt = null,
    DateTimeOffset? ExpiresAt = null,
    long? RetryAfterMs = null,
    string? ErrorCode = null,
    string? ErrorMessage = null);

/// <summary>Where and how to connect with <c>ssh</c>.</summary>
/// <param name="Endpoint">Gateway host name.</param>
/// <param name="Port">Gateway port of this machine.</param>
/// <param name="SshUsername">User name to log in as (<c>machine</c>).</param>
/// <param name="UserCertificate">OpenSSH user certificate for the submitted key (a <c>*-cert.pub</c> line).</param>
/// <param name="HostTrust">The host certificate authority to trust.</param>
public sealed record SshConnection(
    string Endpoint,
    long Port,
    string SshUsername,
    string? UserCertificate = null,
    SshHostTrust? HostTrust = null);

/// <summary>Host trust for strict host checking: write <c>@cert-authority &lt;host_pattern&gt; &lt;public_key&gt;</c> to known_hosts.</summary>
/// <param name="Kind">Always <c>cert_authority</c>.</param>
/// <param name="HostPattern">known_hosts host pattern.</param>
/// <param name="PublicKey">Host CA public key, OpenSSH format.</param>
public sealed record SshHostTrust(string Kind, string HostPattern, string PublicKey);

/// <summary>One page of SSH sessions.</summary>
/// <param name="Items">The sessions on this page.</param>
/// <param name="NextCursor">Opaque cursor for the next page; absent on the last page.</param>
public sealed record SshSessionList(IReadOnlyList<SshSession> Items, string? NextCursor = null);

/// <summary>SSH session statuses.</summary>
public static class SshSessionStatuses
{
    /// <summary>The machine is waking; poll again after <c>retry_after_ms</c>.</summary>
    public const string WakeInProgress = "wake_in_progress";
    /// <summary>Provisioning in progress; poll again.</summary>
    public const string SshInProgress = "ssh_in_progress";
    /// <summary>Ready: connect now.</summary>
    public const string Ready = "ready";
    /// <summary>Deleted; terminal.</summary>
    public const string Closed = "closed";
    /// <summary>Lapsed; terminal.</summary>
    public const string Expired = "expired";
    /// <summary>Failed; terminal, see <c>error_code</c>.</summary>
    public const string Failed = "failed";
}
