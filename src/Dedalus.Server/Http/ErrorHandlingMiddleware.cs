using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Dedalus.Server.Store;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Dedalus.Server.Http;

/// <summary>
/// Turns every failure into the DCS envelope: a <see cref="DomainException"/> through <see cref="ErrorResponses"/>,
/// bad requests found by Kestrel or the edge (oversized bodies, wrong media types) with their 4xx status, routing
/// misses as 404/405, an unreachable store as 503 (<see cref="ErrorKind.Unavailable"/>, said once per outage by the
/// <see cref="StoreOutageLog"/>), and anything else as a 500 without details (logged with its exception, never returned).
/// </summary>
public sealed class ErrorHandlingMiddleware(RequestDelegate next, StoreOutageLog outage, ILogger<ErrorHandlingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (DomainException ex) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            var (status, error) = ErrorResponses.From(ex);
            await ErrorResponses.WriteAsync(context, status, error);
            return;
        }
        catch (StoreUnavailableException ex)
        {
            outage.Report($"{context.Request.Method} {context.Request.Path}", ex);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                var (status, error) = ErrorResponses.From(DomainException.Unavailable("the database is unreachable; retry shortly"));
                await ErrorResponses.WriteAsync(context, status, error);
            }

            // A response already started (a stream) just ends: the client reconnects and resumes.
            return;
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            var status = ex.StatusCode is >= 400 and < 500 ? ex.StatusCode : StatusCodes.Status400BadRequest;
            await ErrorResponses.WriteAsync(context, status, new ErrorEnvelope(ErrorCodes.InvalidRequest, ex.Message, false));
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
            await ErrorResponses.WriteAsync(context, StatusCodes.Status500InternalServerError, new ErrorEnvelope(ErrorCodes.Internal, "internal server error", true));
            return;
        }

        // Routing misses and framework answers without a body get the envelope too.
        if (!context.Response.HasStarted && context.Response.ContentLength is null && context.Response.ContentType is null)
        {
            var status = context.Response.StatusCode;
            var error = status switch
            {
                StatusCodes.Status404NotFound => new ErrorEnvelope(
                    ErrorCodes.NotFound, $"no resource at {(context.Request.Path.HasValue ? context.Request.Path : "*")}", false, Details: new Dictionary<string, string> { [ErrorDetailKeys.Resource] = NotFoundResources.Path }),
                StatusCodes.Status405MethodNotAllowed => new ErrorEnvelope(ErrorCodes.InvalidRequest, $"method {context.Request.Method} is not allowed on {context.Request.Path}", false),
                StatusCodes.Status415UnsupportedMediaType => new ErrorEnvelope(ErrorCodes.InvalidRequest, "request body must be application/json", false),
                StatusCodes.Status413PayloadTooLarge => new ErrorEnvelope(ErrorCodes.InvalidRequest, "request body too large", false),
                StatusCodes.Status400BadRequest => new ErrorEnvelope(ErrorCodes.InvalidRequest, "bad request", false),
                >= 400 and < 500 => new ErrorEnvelope(ErrorCodes.InvalidRequest, $"the request was refused (HTTP {status})", false),
                _ => null,
            };
            if (error is not null && context.Features.Get<IHttpResponseBodyFeature>() is not null)
            {
                await ErrorResponses.WriteAsync(context, status, error);
            }
        }
    }
}
