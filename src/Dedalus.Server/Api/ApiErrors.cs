using Dedalus.Contracts;

namespace Dedalus.Server.Api;

/// <summary>Factories for the API's expected failures.</summary>
public static class ApiErrors
{
    public static ApiException InvalidRequest(string message, string? field = null) =>
        new(StatusCodes.Status400BadRequest, new ErrorEnvelope(
            ErrorCodes.InvalidRequest,
            message,
            false,
            Details: field is null ? null : new Dictionary<string, string> { ["field"] = field }));

    public static ApiException NotFound(string message, string resource) =>
        new(StatusCodes.Status404NotFound, new ErrorEnvelope(
            ErrorCodes.NotFound, message, false, Details: new Dictionary<string, string> { [ErrorDetailKeys.Resource] = resource }));

    public static ApiException PayloadTooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, new ErrorEnvelope(ErrorCodes.InvalidRequest, $"request body exceeds {limit} bytes", false));

    public static ApiException UnsupportedMediaType(string? contentType) =>
        new(StatusCodes.Status415UnsupportedMediaType, new ErrorEnvelope(
            ErrorCodes.InvalidRequest,
            $"request body must be application/json, not '{contentType}'",
            false));

    public static ApiException RevisionMismatch(long expected, string provided) =>
        new(StatusCodes.Status409Conflict, new ErrorEnvelope(
            ErrorCodes.RevisionMismatch,
            $"If-Match names revision {provided} but the machine is at revision {expected}; read it again and retry",
            true,
            Details: new Dictionary<string, string>
            {
                ["expected_revision"] = expected.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["provided_revision"] = provided,
            }));

    public static ApiException InvalidState(string message, string currentDesired, string currentObserved, string expectedObserved, string targetDesired) =>
        new(StatusCodes.Status409Conflict, new ErrorEnvelope(
            ErrorCodes.InvalidState,
            message,
            false,
            Details: new Dictionary<string, string>
            {
                ["current_desired_state"] = currentDesired,
                ["current_observed_state"] = currentObserved,
                ["expected_observed_state"] = expectedObserved,
                ["target_desired_state"] = targetDesired,
            }));

    public static ApiException Unavailable(string message) =>
        new(StatusCodes.Status503ServiceUnavailable, new ErrorEnvelope(ErrorCodes.DependencyUnavailable, message, true, RetryAfterMs: 1000));
}
