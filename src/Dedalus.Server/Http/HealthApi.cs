using Dedalus.Contracts;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dedalus.Server.Http;

/// <summary><c>/healthz</c> (the process answers) and <c>/readyz</c> (the store answers and start-up repair has run).</summary>
public static class HealthApi
{
    public static void MapHealth(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => TypedResults.Text("ok")).ExcludeFromDescription();
        routes.MapGet("/readyz", ReadyAsync).ExcludeFromDescription();
    }

    private static async Task<IResult> ReadyAsync(IStore store, Reconciler reconciler, CancellationToken cancellationToken)
    {
        try
        {
            await store.GetMachineAsync("dm-00000000-0000-0000-0000-000000000000", cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return TypedResults.Json(new ErrorEnvelope(ErrorCodes.DependencyUnavailable, "store unavailable", true, 1000), DedalusJsonContext.Default.ErrorEnvelope, statusCode: 503);
        }

        return reconciler.IsStarted
            ? TypedResults.Text("ready")
            : TypedResults.Json(new ErrorEnvelope(ErrorCodes.DependencyUnavailable, "starting", true, 250), DedalusJsonContext.Default.ErrorEnvelope, statusCode: 503);
    }
}
