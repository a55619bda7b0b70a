using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Dedalus.Server.Http;

namespace Dedalus.Server.Tests;

/// <summary>The one mapping from the domain's error kinds to HTTP statuses and DCS error codes.</summary>
public sealed class ErrorResponsesTests
{
    [Fact]
    public void Every_error_kind_maps_to_its_own_status_and_code()
    {
        var mapped = Enum.GetValues<ErrorKind>().Select(kind => (Kind: kind, Answer: ErrorResponses.From(new DomainException(kind, "x")))).ToList();

        Assert.All(mapped, m => Assert.InRange(m.Answer.Status, 400, 599));
        Assert.Equal(mapped.Count, mapped.Select(m => (m.Answer.Status, m.Answer.Error.ErrorCode)).Distinct().Count());
        Assert.Equal(
            [ErrorKind.RevisionMismatch, ErrorKind.Busy, ErrorKind.Unavailable, ErrorKind.QuotaExceededForNow],
            mapped.Where(m => m.Answer.Error.Retryable).Select(m => m.Kind));
    }

    [Fact]
    public void Details_and_retry_hints_reach_the_envelope()
    {
        var (status, error) = ErrorResponses.From(DomainException.NotFound(NotFoundResources.SshSession, "ssh session ss-1 not found"));
        var (busyStatus, busy) = ErrorResponses.From(new DomainException(ErrorKind.Busy, "in flight"));
        var (_, later) = ErrorResponses.From(new DomainException(ErrorKind.Unavailable, "later", retryAfter: TimeSpan.FromSeconds(3)));

        Assert.Equal(404, status);
        Assert.Equal(ErrorCodes.NotFound, error.ErrorCode);
        Assert.Equal(NotFoundResources.SshSession, error.Details![ErrorDetailKeys.Resource]);
        Assert.Equal((429, ErrorCodes.RateLimited, 250L), (busyStatus, busy.ErrorCode, busy.RetryAfterMs!.Value));
        Assert.Equal(3000, later.RetryAfterMs);
    }
}
