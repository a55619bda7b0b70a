using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Http;

/// <summary>The authenticated caller's org, stored on the request by <see cref="AuthenticationMiddleware"/>.</summary>
public static class CallerOrg
{
    private static readonly object Key = new();

    public static void Set(HttpContext context, string orgId) => context.Items[Key] = orgId;

    public static string Get(HttpContext context) =>
        context.Items.TryGetValue(Key, out var value) && value is string orgId
            ? orgId
            : throw new InvalidOperationException("the request was not authenticated");

    public static string? TryGet(HttpContext context) => context.Items.TryGetValue(Key, out var value) ? value as string : null;
}
