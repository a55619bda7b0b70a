using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Dedalus.Server.Auth;
using Dedalus.Server.Hosting;
using Dedalus.Server.Store;

namespace Dedalus.Server.Console;

/// <summary>
/// The console's browser sessions, kept in the store so that any node accepts the cookie. A session is a random 256-bit
/// token (in the cookie) whose SHA-256 is the row's key, so a copy of the database signs nobody in; it belongs to the
/// org of the API key it was opened with and ends with that key, at its absolute lifetime, or after its idle timeout.
/// </summary>
public sealed class ConsoleSessions(IStore store, ApiKeys apiKeys, ServerOptions options, TimeProvider timeProvider)
{
    /// <summary>Length of a token as the cookie carries it: 32 bytes in unpadded base64url.</summary>
    public const int TokenLength = 43;

    /// <summary>
    /// How stale <c>last_seen_at</c> may get before a request writes it again: a page and its API calls then cost one
    /// write a minute, not one per request, and the idle timeout is still kept to the minute.
    /// </summary>
    private static readonly TimeSpan TouchEvery = TimeSpan.FromMinutes(1);

    /// <summary>Opens a browser session for <paramref name="apiKey"/>; null when the key is not valid.</summary>
    public async Task<(ConsoleSessionRecord Session, string Token)?> SignInAsync(string apiKey, CancellationToken cancellationToken = default)
    {
        apiKey = apiKey.Trim();
        if (await apiKeys.ResolveAsync(apiKey, cancellationToken).ConfigureAwait(false) is not { } orgId)
        {
            return null;
        }

        var now = timeProvider.GetUtcNow();

        // Sessions that ended are no use to anyone: a sign-in is a fine moment to drop them (indexed, usually none).
        await store.DeleteExpiredConsoleSessionsAsync(now, cancellationToken).ConfigureAwait(false);
        var token = NewSecret();
        var session = new ConsoleSessionRecord
        {
            Id = "cs-" + Guid.CreateVersion7(now).ToString("D"),
            TokenHash = HashToken(token),
            OrgId = orgId,
            ApiKeyHash = ApiKeys.Hash(apiKey),
            CsrfToken = NewSecret(),
            CreatedAt = now,
            LastSeenAt = now,
            ExpiresAt = now + options.ConsoleSessionLifetime,
            IdleExpiresAt = now + Min(options.ConsoleIdleTimeout, options.ConsoleSessionLifetime),
        };
        await store.InsertConsoleSessionAsync(session, cancellationToken).ConfigureAwait(false);
        return (session, token);
    }

    /// <summary>The live session of <paramref name="token"/> (a cookie value), recording its use; null for none.</summary>
    public async Task<ConsoleSessionRecord?> ResolveAsync(string? token, CancellationToken cancellationToken = default)
    {
        if (!IsWellFormed(token))
        {
            return null;
        }

        var now = timeProvider.GetUtcNow();
        if (await store.FindConsoleSessionAsync(HashToken(token), now, cancellationToken).ConfigureAwait(false) is not { } session)
        {
            return null;
        }

        if (now - session.LastSeenAt >= TouchEvery)
        {
            var idleEnd = now + options.ConsoleIdleTimeout;
            if (!await store.TouchConsoleSessionAsync(session.Id, now, idleEnd, cancellationToken).ConfigureAwait(false))
            {
                return null; // signed out (or expired) meanwhile
            }

            session = session with { LastSeenAt = now, IdleExpiresAt = idleEnd < session.ExpiresAt ? idleEnd : session.ExpiresAt };
        }

        return session;
    }

    /// <summary>Ends the session: its row is deleted, so every node refuses its cookie from now on.</summary>
    public Task<bool> SignOutAsync(string sessionId, CancellationToken cancellationToken = default) =>
        store.DeleteConsoleSessionAsync(sessionId, cancellationToken);

    /// <summary>A random 256-bit secret in unpadded base64url (a session token, a CSRF token, a login token).</summary>
    public static string NewSecret() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>Whether two secrets are equal, in time that does not depend on where they differ.</summary>
    public static bool SecretsEqual(string? a, string? b) =>
        a is not null && b is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    private static bool IsWellFormed([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? token) =>
        token is { Length: TokenLength } && Base64Url.IsValid(token);

    private static byte[] HashToken(string token) => SHA256.HashData(Encoding.ASCII.GetBytes(token));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
