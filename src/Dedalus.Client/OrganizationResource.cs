using Dedalus.Client.Http;

namespace Dedalus.Client;

/// <summary>Settings of the caller's organization (<c>/v1/organization</c>): the one the API key belongs to.</summary>
public sealed class OrganizationResource
{
    internal OrganizationResource(ApiRequester requester)
    {
        Autoresizing = new OrganizationAutoresizingResource(requester);
    }

    /// <summary>The RAM autoresizing policy (<c>/v1/organization/autoresizing</c>).</summary>
    public OrganizationAutoresizingResource Autoresizing { get; }
}
