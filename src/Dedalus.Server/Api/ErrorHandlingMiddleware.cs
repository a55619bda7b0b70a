using Dedalus.Contracts;
using Dedalus.Server.Logging;
using Microsoft.AspNetCore.Http.Features;

namespace Dedalus.Server.Api;

/// <summary>
/// Turns every failure into the DCS envelope: <see cref="ApiException"/> as given, Kestrel's bad requests
/// (oversized bodies and the like) as 400/413, routing misses as 404/405, and anything else as a 500
/// without details (logged with its exception, never returned).
/// </summary>
public sealed class ErrorHandlingMiddleware(RequestDelegate next, ILogger<ErrorHandlingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (ApiException ex) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            await ErrorWriter.WriteAsync(context, ex.StatusCode, ex.Error);
            return;
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            var status = ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest;
            await ErrorWriter.WriteAsync(context, status, new ErrorEnvelope(ErrorCodes.InvalidRequest, ex.Message, false));
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            ServerLog.UnhandledException(logger, context.Request.Method, context.Request.Path, ex);
            context.Response.Clear();
            await ErrorWriter.WriteAsync(context, StatusCodes.Status500InternalServerError, new ErrorEnvelope(ErrorCodes.Internal, "internal server error", true));
            return;
        }

        // Routing misses and framework answers without a body get the envelope too.
        if (!context.Response.HasStarted && context.Response.ContentLength is null && context.Response.ContentType is null)
        {
            var status = context.Response.StatusCode;
            var error = status switch
            {
                StatusCodes.Status404NotFound => new ErrorEnvelope(
                    ErrorCodes.NotFound, $"no resource at {context.Request.Path}", false, Details: new Dictionary<string, string> { [ErrorDetailKeys.Resource] = NotFoundResources.Path }),
                StatusCodes.Status405MethodNotAllowed => new ErrorEnvelope(ErrorCodes.InvalidRequest, $"method {context.Request.Method} is not allowed on {context.Request.Path}", false),
                StatusCodes.Status415UnsupportedMediaType => new ErrorEnvelope(ErrorCodes.InvalidRequest, "request body must be application/json", false),
                StatusCodes.Status413PayloadTooLarge => new ErrorEnvelope(ErrorCodes.InvalidRequest, "request body too large", false),
                StatusCodes.Status400BadRequest => new ErrorEnvelope(ErrorCodes.InvalidRequest, "bad request", false),
                _ => null,
            };
            if (error is not null && context.Features.Get<IHttpResponseBodyFeature>() is not null)
            {
                await ErrorWriter.WriteAsync(context, status, error);
            }
        }
    }
}
