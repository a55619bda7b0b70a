using Dedalus.Server.Store;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Console;

/// <summary>
/// <see cref="IConsoleCaller"/> from the session cookie. The session found is remembered on the request, so the
/// middleware, the handlers and the terminal resolve it with one store read.
/// </summary>
public sealed class ConsoleCaller(ConsoleSessions sessions) : IConsoleCaller
{
    private static readonly object Key = new();

    public async ValueTask<ConsoleCallerInfo?> ResolveAsync(HttpContext context, CancellationToken cancellationToken) =>
        await SessionAsync(context, cancellationToken).ConfigureAwait(false) is { } session ? new ConsoleCallerInfo(session.OrgId, session.Id) : null;

    /// <summary>The browser session of the request, or null when its cookie names none that is live.</summary>
    public async ValueTask<ConsoleSessionRecord?> SessionAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (context.Items.TryGetValue(Key, out var known))
        {
            return known as ConsoleSessionRecord;
        }

        var session = context.Request.Cookies.TryGetValue(ConsoleCookies.Session(context.Request), out var token)
            ? await sessions.ResolveAsync(token, cancellationToken).ConfigureAwait(false)
            : null;
        context.Items[Key] = session;
        return session;
    }

    /// <summary>Forgets the request's session (after sign-out), so later reads in the same request see none.</summary>
    public static void Forget(HttpContext context) => context.Items[Key] = null;
}
