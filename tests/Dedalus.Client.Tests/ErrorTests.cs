using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Client.Tests;

public sealed class ErrorTests
{
    [Theory]
    [InlineData(401, "AUTH_INVALID", typeof(DedalusAuthenticationException))]
    [InlineData(403, "AUTH_ORG_MISMATCH", typeof(DedalusAuthenticationException))]
    [InlineData(404, "NOT_FOUND", typeof(DedalusNotFoundException))]
    [InlineData(409, "IDEMPOTENCY_KEY_REUSED", typeof(DedalusConflictException))]
    [InlineData(429, "RATE_LIMITED", typeof(DedalusRateLimitException))]
    [InlineData(502, "DEPENDENCY_UNAVAILABLE", typeof(DedalusServerException))]
    [InlineData(400, "INVALID_REQUEST", typeof(DedalusApiException))]
    public async Task Each_error_status_raises_its_typed_exception_with_the_envelope(int status, string code, Type expected)
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () =>
            Results.Json(
                new Dictionary<string, object> { ["error_code"] = code, ["message"] = "what went wrong", ["retryable"] = false, ["details"] = new Dictionary<string, string> { ["field"] = "vcpu" } },
                statusCode: status)));
        using var client = api.CreateClient(maxRetries: 0);

        var error = await Assert.ThrowsAnyAsync<DedalusApiException>(() => client.Machines.RetrieveAsync(Samples.MachineId));

        Assert.IsType(expected, error);
        Assert.Equal(status, (int)error.StatusCode);
        Assert.Equal(code, error.ErrorCode);
        Assert.Equal("what went wrong", error.Message);
        Assert.Equal("vcpu", error.Details["field"]);
    }

    [Fact]
    public async Task A_problem_details_body_gives_its_detail_as_the_message()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () =>
            Results.Problem(detail: "body.vcpu must be positive", statusCode: 422)));
        using var client = api.CreateClient(maxRetries: 0);

        var error = await Assert.ThrowsAsync<DedalusApiException>(() => client.Machines.RetrieveAsync(Samples.MachineId));

        Assert.Equal(422, (int)error.StatusCode);
        Assert.Null(error.ErrorCode);
        Assert.Equal("body.vcpu must be positive", error.Message);
    }

    [Fact]
    public async Task A_body_that_is_not_an_envelope_still_raises_a_clear_error()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () => Results.Text("<html>nope</html>", "text/html", statusCode: 404)));
        using var client = api.CreateClient(maxRetries: 0);

        var error = await Assert.ThrowsAsync<DedalusNotFoundException>(() => client.Machines.RetrieveAsync(Samples.MachineId));

        Assert.Contains("404", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_404_names_the_resource_that_was_not_found()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/ssh/{sid}", () =>
            StubApi.Error(404, ErrorCodes.NotFound, "ssh session ssh-9 not found", resource: NotFoundResources.SshSession)));
        using var client = api.CreateClient(maxRetries: 0);

        var error = await Assert.ThrowsAsync<DedalusNotFoundException>(() => client.Machines.Ssh.RetrieveAsync(Samples.MachineId, "ssh-9"));

        Assert.Equal(NotFoundResources.SshSession, error.Resource);
        Assert.Equal(ErrorCodes.NotFound, error.ErrorCode);
    }

    [Fact]
    public async Task A_404_from_another_web_server_has_neither_code_nor_resource()
    {
        await using var api = await StubApi.StartAsync(_ => { });
        using var client = api.CreateClient(maxRetries: 0);

        var error = await Assert.ThrowsAsync<DedalusNotFoundException>(() => client.Machines.RetrieveAsync(Samples.MachineId));

        Assert.Null(error.ErrorCode);
        Assert.Null(error.Resource);
        Assert.Empty(error.Details);
    }

    [Fact]
    public void Exceptions_are_constructible_from_one_error_value_for_fakes_and_tests()
    {
        var error = new DedalusApiError(
            System.Net.HttpStatusCode.NotFound, ErrorCodes.NotFound, "machine dm-x not found", RetryAfterMs: 5,
            Details: new Dictionary<string, string> { [ErrorDetailKeys.Resource] = NotFoundResources.Machine });

        var notFound = new DedalusNotFoundException(error);
        var conflict = new DedalusConflictException(new DedalusApiError(System.Net.HttpStatusCode.Conflict, null, "busy", Retryable: true));

        Assert.Same(error, notFound.Error);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("machine dm-x not found", notFound.Message);
        Assert.Equal(5, notFound.RetryAfterMs);
        Assert.Equal(NotFoundResources.Machine, notFound.Resource);
        Assert.True(conflict.Retryable);
        Assert.Null(conflict.ErrorCode);
        Assert.Empty(conflict.Details);
    }

    [Fact]
    public async Task Credentials_and_org_are_sent_as_headers()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () => Wire.Json(Samples.Machine())));
        using var client = new DedalusClient(new DedalusClientOptions
        {
            BaseUrl = api.BaseUrl,
            ApiKey = "bearer-key",
            XApiKey = "x-key",
            OrgId = "org-1",
        });

        await client.Machines.RetrieveAsync("0B9F6C1E-4A5D-4C3B-9E2F-1A2B3C4D5E6F");

        var request = Assert.Single(api.Requests);
        Assert.Equal("Bearer bearer-key", request.Header("Authorization"));
        Assert.Equal("x-key", request.Header("x-api-key"));
        Assert.Equal("org-1", request.Header("X-Dedalus-Org-Id"));
        Assert.Null(request.Header("Idempotency-Key"));
        Assert.Equal("/v1/machines/" + Samples.MachineId, request.PathAndQuery);
    }

    [Theory]
    [InlineData("0b9f6c1e-4a5d-4c3b-9e2f-1a2b3c4d5e6f")]
    [InlineData("DM-0B9F6C1E-4A5D-4C3B-9E2F-1A2B3C4D5E6F")]
    [InlineData(" dm-0b9f6c1e-4a5d-4c3b-9e2f-1a2b3c4d5e6f\n")]
    public async Task Machine_ids_in_either_form_and_any_case_are_sent_canonical(string machineId)
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () => Wire.Json(Samples.Machine())));
        using var client = api.CreateClient();

        await client.Machines.RetrieveAsync(machineId);

        Assert.Equal("/v1/machines/" + Samples.MachineId, Assert.Single(api.Requests).PathAndQuery);
    }

    [Fact]
    public async Task Text_that_is_neither_a_machine_id_nor_a_name_is_refused_before_anything_is_sent()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () => Wire.Json(Samples.Machine())));
        using var client = api.CreateClient(maxRetries: 0);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.Machines.RetrieveAsync("dm-nope/.."));

        Assert.Equal("machineId", error.ParamName);
        Assert.Empty(api.Requests);
    }
}
