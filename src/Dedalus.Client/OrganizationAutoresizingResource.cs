using Dedalus.Client.Http;
using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// The organization's RAM autoresizing policy (<c>/v1/organization/autoresizing</c>): whether automatic memory increases
/// are allowed for the caller's organization's machines. Disabling keeps the memory already added and the increases
/// already admitted.
/// </summary>
public sealed class OrganizationAutoresizingResource
{
    private const string Path = "v1/organization/autoresizing";

    private readonly ApiRequester _requester;

    internal OrganizationAutoresizingResource(ApiRequester requester)
    {
        _requester = requester;
    }

    /// <summary>Reads the policy (<c>GET /v1/organization/autoresizing</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The policy.</returns>
    public Task<AutoresizingSettings> GetAsync(CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, Path, DedalusJsonContext.Default.AutoresizingSettings, cancellationToken);

    /// <summary>Allows or stops automatic memory increases (<c>PUT /v1/organization/autoresizing</c>, <c>{"enabled": ...}</c>).</summary>
    /// <param name="enabled">Whether memory may grow automatically.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The policy as the server stored it.</returns>
    public Task<AutoresizingSettings> SetAsync(bool enabled, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(
            HttpMethod.Put, Path, new AutoresizingSettings(enabled),
            DedalusJsonContext.Default.AutoresizingSettings, DedalusJsonContext.Default.AutoresizingSettings, cancellationToken);
}
