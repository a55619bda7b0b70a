using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

/// <summary>Every class of bad input is a 400 (413, 415) envelope that names the problem, and nothing is written.</summary>
public sealed class ValidationTests : ServerTestBase
{
    [Theory]
    [InlineData("""{"vcpu":1,"memory_mib":1024""", "not valid JSON")]
    [InlineData("""{"vcpu":1,"memory_mib":1024,"storage_gib":10,"colour":"red"}""", "colour")]
    [InlineData("""{"vcpu":"one","memory_mib":1024,"storage_gib":10}""", "vcpu")]
    [InlineData("""{"vcpu":1,"memory_mib":1024.5,"storage_gib":10}""", "memory_mib")]
    [InlineData("""{"vcpu":1,"memory_mib":"1024","storage_gib":10}""", "memory_mib")]
    [InlineData("""{"name":""}""", "name")]
    [InlineData("""{"name":" padded"}""", "name")]
    [InlineData("""{"name":"a/b"}""", "name")]
    [InlineData("""{"name":"dm-box"}""", "name")]
    [InlineData("""{"name":"0190aaaa-0000-7000-8000-000000000000"}""", "name")]
    [InlineData("""{"name":"tab\tin"}""", "name")]
    [InlineData("""{"name":"0123456789012345678901234567890123456789012345678901234567890123"}""", "name")]
    [InlineData("""{"vcpu":0.3,"memory_mib":1024,"storage_gib":10}""", "vcpu")]
    [InlineData("""{"vcpu":0,"memory_mib":1024,"storage_gib":10}""", "vcpu")]
    [InlineData("""{"vcpu":-1,"memory_mib":1024,"storage_gib":10}""", "vcpu")]
    [InlineData("""{"vcpu":1000,"memory_mib":1024,"storage_gib":10}""", "vcpu")]
    [InlineData("""{"vcpu":1,"memory_mib":-5,"storage_gib":10}""", "memory_mib")]
    [InlineData("""{"vcpu":1,"memory_mib":99999999999,"storage_gib":10}""", "memory_mib")]
    [InlineData("""{"vcpu":1,"memory_mib":1024,"storage_gib":0}""", "storage_gib")]
    [InlineData("""{"vcpu":1,"memory_mib":1024,"storage_gib":1000000}""", "storage_gib")]
    [InlineData("""{"vcpu":1,"memory_mib":1024,"storage_gib":10,"autosleep":"5x"}""", "autosleep")]
    [InlineData("""{"vcpu":1,"memory_mib":1024,"storage_gib":10,"autosleep":300}""", "autosleep")]
    [InlineData("""[1,2,3]""", "JSON object")]
    [InlineData("""null""", "JSON object")]
    [InlineData("", "body is required")]
    public async Task A_bad_create_body_is_400_invalid_request_naming_the_problem_and_creates_nothing(string body, string expected)
    {
        var response = await Api.PostAsync("/v1/machines", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        var error = response.Error();
        Assert.Equal(ErrorCodes.InvalidRequest, error.ErrorCode);
        Assert.False(error.Retryable);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error.Message, StringComparison.Ordinal);
        Assert.Empty((await Api.GetAsync("/v1/machines")).MachineList().Items);
    }

    [Fact]
    public async Task An_oversized_body_is_413_in_the_envelope_and_creates_nothing()
    {
        var body = """{"vcpu":1,"memory_mib":1024,"storage_gib":10,"autosleep":" """ + new string('x', 100_000) + "\"}";

        var response = await Api.PostAsync("/v1/machines", body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.Status);
        Assert.Equal(ErrorCodes.InvalidRequest, response.Error().ErrorCode);
        Assert.Empty((await Api.GetAsync("/v1/machines")).MachineList().Items);
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415_in_the_envelope()
    {
        var response = await Api.SendAsync(HttpMethod.Post, "/v1/machines", "vcpu=1", contentType: "application/x-www-form-urlencoded");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.Status);
        Assert.Contains("application/json", response.Error().Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dm-not-a-uuid")]
    [InlineData("dm-123")]
    [InlineData("%20padded")]
    [InlineData("dm-zzzzzzzz-0000-0000-0000-000000000000")]
    public async Task A_malformed_machine_id_is_400_naming_machine_id(string id)
    {
        var response = await Api.GetAsync($"/v1/machines/{id}");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("machine_id", response.Error().Details!["field"]);
    }

    [Fact]
    public async Task An_unknown_machine_is_404_not_found_in_the_envelope()
    {
        var response = await Api.GetAsync($"/v1/machines/dm-{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.Equal(ErrorCodes.NotFound, response.Error().ErrorCode);
    }

    [Fact]
    public async Task An_unknown_path_is_404_and_a_wrong_method_is_405_both_in_the_envelope()
    {
        var notFound = await Api.GetAsync("/v1/nothing-here");
        var notAllowed = await Api.SendAsync(HttpMethod.Put, "/v1/machines");

        Assert.Equal(HttpStatusCode.NotFound, notFound.Status);
        Assert.Equal(ErrorCodes.NotFound, notFound.Error().ErrorCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, notAllowed.Status);
        Assert.Equal(ErrorCodes.InvalidRequest, notAllowed.Error().ErrorCode);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=-3", "limit")]
    [InlineData("limit=abc", "limit")]
    [InlineData("cursor=garbage!!", "cursor")]
    [InlineData("cursor=AAAAAAAAAAAA", "cursor")]
    public async Task Bad_paging_parameters_are_400_naming_the_parameter(string query, string field)
    {
        var response = await Api.GetAsync("/v1/machines?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(field, response.Error().Details!["field"]);
    }

    [Fact]
    public async Task A_limit_above_the_maximum_is_capped_at_200()
    {
        await Api.CreateMachineAsync();

        var response = await Api.GetAsync("/v1/machines?limit=100000");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Single(response.MachineList().Items);
    }

    [Theory]
    [InlineData("""{"vcpu":0.1}""", "vcpu")]
    [InlineData("""{"memory_mib":64}""", "memory_mib")]
    [InlineData("""{"autosleep":"soon"}""", "autosleep")]
    [InlineData("""{"cpu":2}""", "cpu")]
    public async Task A_bad_patch_is_400_naming_the_field_and_changes_nothing(string body, string field)
    {
        var machine = await Api.CreateRunningMachineAsync();

        var response = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains(field, response.Error().Message, StringComparison.Ordinal);
        var after = (await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine();
        Assert.Equal(machine.Status.Revision, after.Status.Revision);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("\"x\"")]
    public async Task A_malformed_if_match_is_400_naming_if_match(string ifMatch)
    {
        var machine = await Api.CreateRunningMachineAsync();

        var response = await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null, new Dictionary<string, string> { ["If-Match"] = ifMatch });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("If-Match", response.Error().Details!["field"]);
    }
}
