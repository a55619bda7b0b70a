using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// The machine, session or execution does not exist, or is not visible to this key (404); or the request reached no
/// operation of the API at all (see <see cref="Resource"/>).
/// </summary>
/// <param name="error">The status and the envelope's fields.</param>
public sealed class DedalusNotFoundException(DedalusApiError error) : DedalusApiException(error)
{
    /// <summary>
    /// What was not found, from the envelope's <c>details.resource</c>: <see cref="NotFoundResources.Machine"/>,
    /// <see cref="NotFoundResources.SshSession"/>, <see cref="NotFoundResources.Execution"/> (also once it expired), or
    /// <see cref="NotFoundResources.Path"/> (the URL matched no operation:
    /// a base URL with an extra path such as <c>/v1</c>). <see langword="null"/> when the server did not say; with no
    /// <see cref="DedalusApiException.ErrorCode"/> either, the answer did not come from a Dedalus API.
    /// </summary>
    public string? Resource => Details.TryGetValue(ErrorDetailKeys.Resource, out var resource) ? resource : null;
}
