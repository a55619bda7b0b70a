using Dedalus.Contracts;

namespace Dedalus.Server.Api;

/// <summary>An expected failure of an API request, answered with the DCS error envelope.</summary>
public sealed class ApiException : Exception
{
    public ApiException(int statusCode, ErrorEnvelope error)
        : base(error.Message)
    {
        StatusCode = statusCode;
        Error = error;
    }

    public ApiException()
        : this(StatusCodes.Status500InternalServerError, new ErrorEnvelope(ErrorCodes.Internal, "internal error", false))
    {
    }

    public ApiException(string message)
        : this(StatusCodes.Status400BadRequest, new ErrorEnvelope(ErrorCodes.InvalidRequest, message, false))
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = StatusCodes.Status400BadRequest;
        Error = new ErrorEnvelope(ErrorCodes.InvalidRequest, message, false);
    }

    public int StatusCode { get; }

    public ErrorEnvelope Error { get; }
}
