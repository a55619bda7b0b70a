using Dedalus.Client.Http;
using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// RAM autoresizing of one machine (<c>/v1/machines/{id}/autoresizing</c>): whether the server may raise the machine's
/// memory when it nears its limit. The organization's policy (<see cref="OrganizationAutoresizingResource"/>) must allow
/// it too; the effects show in the machine's <c>status.memory_*</c> fields.
/// </summary>
public sealed class MachineAutoresizingResource
{
    private readonly ApiRequester _requester;

    internal MachineAutoresizingResource(ApiRequester requester)
    {
        _requester = requester;
    }

    /// <summary>Reads the machine's setting (<c>GET /v1/machines/{id}/autoresizing</c>).</summary>
    /// <param name="machineId">The machine id or name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The setting.</returns>
    public Task<AutoresizingSettings> GetAsync(string machineId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, Path(machineId), DedalusJsonContext.Default.AutoresizingSettings, cancellationToken);

    /// <summary>Turns the machine's autoresizing on or off (<c>PUT /v1/machines/{id}/autoresizing</c>, <c>{"enabled": ...}</c>).</summary>
    /// <param name="machineId">The machine id or name.</param>
    /// <param name="enabled">Whether memory may grow automatically.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The setting as the server stored it.</returns>
    public Task<AutoresizingSettings> SetAsync(string machineId, bool enabled, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(
            HttpMethod.Put, Path(machineId), new AutoresizingSettings(enabled),
            DedalusJsonContext.Default.AutoresizingSettings, DedalusJsonContext.Default.AutoresizingSettings, cancellationToken);

    private static string Path(string machineId) => MachinesResource.MachinePath(machineId) + "/autoresizing";
}
