using Dedalus.Contracts;
using Dedalus.Server.Http;
using Dedalus.Server.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Dedalus.Server.Machines.Api;

/// <summary>
/// <c>/v1/organization/autoresizing</c>: the org's RAM autoresizing policy, which every machine of the org follows
/// unless it has its own switch (<c>PUT /v1/machines/{id}/autoresizing</c>). Turning it off keeps memory already added.
/// </summary>
public static class OrganizationApi
{
    public static RouteGroupBuilder MapOrganization(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/organization").WithTags("Organization");
        group.MapGet("/autoresizing", GetAsync).WithName("getOrganizationAutoresizing").Produces<AutoresizingSettings>();
        group.MapPut("/autoresizing", PutAsync).WithName("updateOrganizationAutoresizing")
            .Accepts<AutoresizingSettings>("application/json").Produces<AutoresizingSettings>();
        return group;
    }

    private static async Task<JsonHttpResult<AutoresizingSettings>> GetAsync(HttpContext context, IStore store)
    {
        var enabled = await store.GetOrgAutoresizeAsync(CallerOrg.Get(context), context.RequestAborted);
        return TypedResults.Json(new AutoresizingSettings(enabled), DedalusJsonContext.Default.AutoresizingSettings);
    }

    private static async Task<JsonHttpResult<AutoresizingSettings>> PutAsync(HttpContext context, IStore store, MemoryAutoresizer autoresizer)
    {
        var enabled = await MachinesApi.ReadEnabledAsync(context);
        await store.SetOrgAutoresizeAsync(CallerOrg.Get(context), enabled, context.RequestAborted);

        // In effect on the org's running machines when this answers.
        await autoresizer.ApplyNowAsync(CancellationToken.None);
        return TypedResults.Json(new AutoresizingSettings(enabled), DedalusJsonContext.Default.AutoresizingSettings);
    }
}
