using Dedalus.Server.Hosting;
using Dedalus.Server.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dedalus.Server.Http;

/// <summary>
/// <c>/metrics</c>: the OpenTelemetry Prometheus exporter's text exposition, on the API listener, without an API key
/// (Prometheus scrapes with none) but only for the clients <see cref="MetricsAccess"/> admits. Anyone else gets the
/// same 404 as a path that does not exist, so a refused client cannot even tell that metrics are on.
/// </summary>
public static class MetricsApi
{
    public const string Path = "/metrics";

    public static void MapMetrics(this IEndpointRouteBuilder routes, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Metrics)
        {
            return;
        }

        var access = new MetricsAccess(options.MetricsAllow);
        routes.MapPrometheusScrapingEndpoint(Path, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (context, next) =>
        {
            if (!access.Allows(context.Connection.RemoteIpAddress))
            {
                // No body: the error middleware answers it as every route miss (the DCS envelope, not_found).
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(context);
        }), optionsName: null).ExcludeFromDescription();
    }
}
