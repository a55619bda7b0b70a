using System.Globalization;
using Dedalus.Contracts;

namespace Dedalus.Server.Errors;

/// <summary>
/// An expected failure of an operation: its <see cref="Kind"/>, a message that names the problem and what to do,
/// and structured details. Domain code throws it; the HTTP edge turns it into a status and the DCS envelope.
/// </summary>
public sealed class DomainException : Exception
{
    public DomainException(ErrorKind kind, string message, IReadOnlyDictionary<string, string>? details = null, TimeSpan? retryAfter = null)
        : base(message)
    {
        Kind = kind;
        Details = details;
        RetryAfter = retryAfter;
    }

    public ErrorKind Kind { get; }

    /// <summary>Structured details (<see cref="ErrorDetailKeys"/>, expected and current values).</summary>
    public IReadOnlyDictionary<string, string>? Details { get; }

    /// <summary>When a retry may succeed, if the failure says.</summary>
    public TimeSpan? RetryAfter { get; }

    public static DomainException InvalidRequest(string message, string? field = null) =>
        new(ErrorKind.InvalidRequest, message, field is null ? null : new Dictionary<string, string> { [ErrorDetailKeys.Field] = field });

    /// <summary>No such <paramref name="resource"/> (a <see cref="NotFoundResources"/> value).</summary>
    public static DomainException NotFound(string resource, string message) =>
        new(ErrorKind.NotFound, message, new Dictionary<string, string> { [ErrorDetailKeys.Resource] = resource });

    public static DomainException InvalidState(string message, string currentDesired, string currentObserved, string expectedObserved, string targetDesired) =>
        new(ErrorKind.InvalidState, message, new Dictionary<string, string>
        {
            ["current_desired_state"] = currentDesired,
            ["current_observed_state"] = currentObserved,
            ["expected_observed_state"] = expectedObserved,
            ["target_desired_state"] = targetDesired,
        });

    public static DomainException RevisionMismatch(long current, long provided) =>
        new(ErrorKind.RevisionMismatch, $"If-Match names revision {provided} but the machine is at revision {current}; read it again and retry", new Dictionary<string, string>
        {
            ["expected_revision"] = current.ToString(CultureInfo.InvariantCulture),
            ["provided_revision"] = provided.ToString(CultureInfo.InvariantCulture),
        });

    public static DomainException NameTaken(string name, string holderId) =>
        new(ErrorKind.NameTaken, $"another machine ({MachineIds.Wire(holderId)}) is named '{name}'; pick another name or rename that machine", new Dictionary<string, string>
        {
            [ErrorDetailKeys.Field] = "name",
            ["machine_id"] = MachineIds.Wire(holderId),
        });

    public static DomainException Unavailable(string message) => new(ErrorKind.Unavailable, message);

    /// <summary>
    /// The org's <paramref name="quota"/> refuses: <paramref name="used"/> of <paramref name="limit"/> in use and
    /// <paramref name="requested"/> more asked. With <paramref name="retryAfter"/> the use ends by itself (live sessions,
    /// machines being destroyed).
    /// </summary>
    public static DomainException QuotaExceeded(string quota, string limit, string used, string requested, string message, TimeSpan? retryAfter = null) =>
        new(retryAfter is null ? ErrorKind.QuotaExceeded : ErrorKind.QuotaExceededForNow, message, new Dictionary<string, string>
        {
            [ErrorDetailKeys.Quota] = quota,
            ["limit"] = limit,
            ["used"] = used,
            ["requested"] = requested,
        }, retryAfter);

    /// <summary>No node has room for a machine of this size.</summary>
    public static DomainException InsufficientCapacity(double vcpu, long memoryMib, long storageGib, string message) =>
        new(ErrorKind.InsufficientCapacity, message, new Dictionary<string, string>
        {
            ["requested_vcpu"] = vcpu.ToString(CultureInfo.InvariantCulture),
            ["requested_memory_mib"] = memoryMib.ToString(CultureInfo.InvariantCulture),
            ["requested_storage_gib"] = storageGib.ToString(CultureInfo.InvariantCulture),
        });

    /// <summary>The host cannot back <paramref name="requestedGib"/> more GiB: <paramref name="committedGib"/> of <paramref name="capacityGib"/> are committed.</summary>
    public static DomainException InsufficientStorage(long requestedGib, long committedGib, long capacityGib, string message) =>
        new(ErrorKind.InsufficientStorage, message, new Dictionary<string, string>
        {
            ["requested_gib"] = requestedGib.ToString(CultureInfo.InvariantCulture),
            ["committed_gib"] = committedGib.ToString(CultureInfo.InvariantCulture),
            ["capacity_gib"] = capacityGib.ToString(CultureInfo.InvariantCulture),
        });
}
