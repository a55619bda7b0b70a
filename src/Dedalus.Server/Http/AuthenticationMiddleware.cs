using Dedalus.Contracts;
using Dedalus.Server.Auth;
using Dedalus.Server.Errors;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Http;

/// <summary>
/// Authenticates every <c>/v1</c> request by <c>x-api-key</c> or <c>Authorization: Bearer</c>, checks
/// <c>X-Dedalus-Org-Id</c> against the key's org and records the caller's org for the handlers.
/// </summary>
public sealed class AuthenticationMiddleware(RequestDelegate next, ApiKeys apiKeys)
{
    public async Task InvokeAsync(HttpContext context)
    {
        // Routing matches paths case-insensitively, so must this gate: /V1/machines is /v1/machines.
        if (!context.Request.Path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        // Either header suffices (the official SDKs send both when both are configured): a stale key in one
        // must not reject a valid key in the other, but two valid keys of different orgs are ambiguous.
        var (apiKey, bearer) = ReadKeys(context.Request);
        if (apiKey is null && bearer is null)
        {
            throw new DomainException(ErrorKind.AuthenticationRequired, "an API key is required: send x-api-key or Authorization: Bearer");
        }

        var fromApiKey = apiKey is null ? null : await apiKeys.ResolveAsync(apiKey, context.RequestAborted);
        var fromBearer = bearer is null ? null : await apiKeys.ResolveAsync(bearer, context.RequestAborted);
        if (fromApiKey is not null && fromBearer is not null && !string.Equals(fromApiKey, fromBearer, StringComparison.Ordinal))
        {
            throw new DomainException(ErrorKind.AuthenticationFailed, "x-api-key and Authorization: Bearer carry keys of different orgs; send one");
        }

        var orgId = fromApiKey ?? fromBearer
            ?? throw new DomainException(ErrorKind.AuthenticationFailed, "the API key is not valid");

        if (context.Request.Headers.TryGetValue(DedalusHeaders.OrgId, out var claimed) && claimed.Count > 0 && !string.IsNullOrEmpty(claimed[0]))
        {
            if (!string.Equals(claimed[0], orgId, StringComparison.Ordinal))
            {
                throw new DomainException(
                    ErrorKind.OrgMismatch,
                    $"{DedalusHeaders.OrgId} does not name the org of this API key",
                    new Dictionary<string, string> { ["provided_org_id"] = claimed[0]! });
            }
        }

        CallerOrg.Set(context, orgId);
        await next(context);
    }

    private static (string? ApiKey, string? Bearer) ReadKeys(HttpRequest request)
    {
        string? apiKey = null;
        var apiKeyHeader = request.Headers[DedalusHeaders.ApiKey];
        if (apiKeyHeader.Count > 0 && !string.IsNullOrWhiteSpace(apiKeyHeader[0]))
        {
            apiKey = apiKeyHeader[0]!.Trim();
        }

        string? bearer = null;
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0 && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = value["Bearer ".Length..].Trim();
            bearer = token.Length > 0 ? token : null;
        }

        return (apiKey, bearer);
    }
}
