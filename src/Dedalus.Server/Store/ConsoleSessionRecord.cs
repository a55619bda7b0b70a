namespace Dedalus.Server.Store;

/// <summary>
/// A browser session of the web console. <see cref="TokenHash"/> is the SHA-256 of the cookie's token (the token itself
/// is never stored); <see cref="ApiKeyHash"/> the stored hash of the API key it was signed in with, so that the session
/// ends with the key. It lives until <see cref="ExpiresAt"/> at most, and until <see cref="IdleExpiresAt"/> unless used.
/// </summary>
public sealed record ConsoleSessionRecord
{
    public required string Id { get; init; }
    public required byte[] TokenHash { get; init; }
    public required string OrgId { get; init; }
    public required byte[] ApiKeyHash { get; init; }
    public required string CsrfToken { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset LastSeenAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public required DateTimeOffset IdleExpiresAt { get; init; }
}
