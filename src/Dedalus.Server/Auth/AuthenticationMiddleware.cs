using Dedalus.Contracts;
using Dedalus.Server.Api;

namespace Dedalus.Server.Auth;

/// <summary>
/// Authenticates every <c>/v1</c> request by <c>x-api-key</c> or <c>Authorization: Bearer</c>, checks
/// <c>X-Dedalus-Org-Id</c> against the key's org and records the caller's org for the handlers.
/// </summary>
public sealed class AuthenticationMiddleware(RequestDelegate next, ApiKeys apiKeys)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        var key = ReadKey(context.Request);
        if (key is null)
        {
            throw new ApiException(StatusCodes.Status401Unauthorized, new ErrorEnvelope(
                ErrorCodes.AuthRequired, "an API key is required: send x-api-key or Authorization: Bearer", false));
        }

        var orgId = await apiKeys.ResolveAsync(key, context.RequestAborted);
        if (orgId is null)
        {
            throw new ApiException(StatusCodes.Status401Unauthorized, new ErrorEnvelope(ErrorCodes.AuthInvalid, "the API key is not valid", false));
        }

        if (context.Request.Headers.TryGetValue(DedalusHeaders.OrgId, out var claimed) && claimed.Count > 0 && !string.IsNullOrEmpty(claimed[0]))
        {
            if (!string.Equals(claimed[0], orgId, StringComparison.Ordinal))
            {
                throw new ApiException(StatusCodes.Status403Forbidden, new ErrorEnvelope(
                    ErrorCodes.AuthOrgMismatch,
                    $"{DedalusHeaders.OrgId} does not name the org of this API key",
                    false,
                    Details: new Dictionary<string, string> { ["provided_org_id"] = claimed[0]! }));
            }
        }

        CallerOrg.Set(context, orgId);
        await next(context);
    }

    private static string? ReadKey(HttpRequest request)
    {
        var apiKey = request.Headers[DedalusHeaders.ApiKey];
        if (apiKey.Count > 0 && !string.IsNullOrWhiteSpace(apiKey[0]))
        {
            return apiKey[0]!.Trim();
        }

        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0 && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = value["Bearer ".Length..].Trim();
            return token.Length > 0 ? token : null;
        }

        return null;
    }
}
