using Dedalus.Contracts;

namespace Dedalus.Server.Api;

/// <summary>Writes the DCS error envelope.</summary>
public static class ErrorWriter
{
    public static Task WriteAsync(HttpContext context, int statusCode, ErrorEnvelope error)
    {
        context.Response.StatusCode = statusCode;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsJsonAsync(error, DedalusJsonContext.Default.ErrorEnvelope, contentType: "application/json", context.RequestAborted);
    }
}
