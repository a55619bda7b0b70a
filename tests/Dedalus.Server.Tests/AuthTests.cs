using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Hosting;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>API keys, orgs and the paths that need no key.</summary>
public sealed class AuthTests : ServerTestBase
{
    [Fact]
    public async Task A_request_without_a_key_is_401_auth_required()
    {
        using var anonymous = Server.Client(null);

        var response = await anonymous.GetAsync("/v1/machines");

        AssertUnauthorized(response, ErrorCodes.AuthRequired);
    }

    [Fact]
    public async Task A_v1_path_in_another_case_is_authenticated_like_any_other_401_without_a_key_and_200_with_one()
    {
        using var anonymous = Server.Client(null);

        var withoutKey = await anonymous.GetAsync("/V1/machines");
        var withKey = await Api.GetAsync("/V1/Machines");

        AssertUnauthorized(withoutKey, ErrorCodes.AuthRequired);
        Assert.Equal(HttpStatusCode.OK, withKey.Status);
    }

    [Fact]
    public async Task A_request_with_an_unknown_key_is_401_auth_invalid()
    {
        using var stranger = Server.Client("dk_not-a-real-key");

        var response = await stranger.GetAsync("/v1/machines");

        AssertUnauthorized(response, ErrorCodes.AuthInvalid);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_key_works_as_x_api_key_and_as_bearer(bool useXApiKey)
    {
        using var api = await Server.NewClientAsync("acme", useXApiKey);

        var response = await api.GetAsync("/v1/machines");

        Assert.Equal(HttpStatusCode.OK, response.Status);
    }

    [Fact]
    public async Task A_valid_bearer_key_is_accepted_beside_a_stale_x_api_key_and_keys_of_two_orgs_are_401()
    {
        using var api = await Server.NewClientAsync("acme");
        using var other = await Server.NewClientAsync("globex");

        var stale = await api.SendAsync(HttpMethod.Get, "/v1/machines", headers: new Dictionary<string, string> { ["x-api-key"] = "dk_stale-key" });
        var same = await api.SendAsync(HttpMethod.Get, "/v1/machines", headers: new Dictionary<string, string> { ["x-api-key"] = api.ApiKey });
        var twoOrgs = await api.SendAsync(HttpMethod.Get, "/v1/machines", headers: new Dictionary<string, string> { ["x-api-key"] = other.ApiKey });

        Assert.Equal(HttpStatusCode.OK, stale.Status);
        Assert.Equal(HttpStatusCode.OK, same.Status);
        AssertUnauthorized(twoOrgs, ErrorCodes.AuthInvalid);
    }

    [Fact]
    public async Task An_org_header_naming_another_org_is_403_auth_org_mismatch_and_the_right_one_passes()
    {
        using var api = await Server.NewClientAsync("acme");

        var wrong = await api.SendAsync(HttpMethod.Get, "/v1/machines", headers: new Dictionary<string, string> { ["X-Dedalus-Org-Id"] = "org-someone-else" });
        var right = await api.SendAsync(HttpMethod.Get, "/v1/machines", headers: new Dictionary<string, string> { ["X-Dedalus-Org-Id"] = api.OrgId });

        Assert.Equal(HttpStatusCode.Forbidden, wrong.Status);
        Assert.Equal(ErrorCodes.AuthOrgMismatch, wrong.Error().ErrorCode);
        Assert.Equal(HttpStatusCode.OK, right.Status);
    }

    [Fact]
    public async Task Another_orgs_machines_and_sessions_are_404_and_absent_from_lists()
    {
        using var acme = await Server.NewClientAsync("acme");
        using var globex = await Server.NewClientAsync("globex");
        var machine = await acme.CreateRunningMachineAsync();
        var session = (await acme.OpenSessionAsync(machine.MachineId)).Session();

        Assert.Equal(HttpStatusCode.NotFound, (await globex.GetAsync($"/v1/machines/{machine.MachineId}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await globex.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"vcpu":2}""")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await globex.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await globex.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await globex.OpenSessionAsync(machine.MachineId)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await globex.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await globex.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Status);
        Assert.Empty((await globex.GetAsync("/v1/machines")).MachineList().Items);
        Assert.Equal(MachinePhases.Running, (await acme.GetAsync($"/v1/machines/{machine.MachineId}")).Machine().Phase);
        Assert.Equal(SshSessionStatuses.Ready, (await acme.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Session().Status);
    }

    [Fact]
    public async Task Health_and_openapi_need_no_key_and_openapi_describes_the_machine_paths()
    {
        using var anonymous = Server.Client(null);

        var health = await anonymous.GetAsync("/healthz");
        var ready = await anonymous.GetAsync("/readyz");
        var openApi = await anonymous.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, health.Status);
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal(HttpStatusCode.OK, openApi.Status);
        Assert.Contains("/v1/machines/{machineId}/ssh", openApi.Body, StringComparison.Ordinal);
        Assert.Contains("\"/v1/machines\"", openApi.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_apikey_create_command_prints_a_key_once_that_the_running_server_accepts()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var otherData = new TempDirectory();
        await using var server = await RunningServer.StartAsync(otherData.Path);

        var exit = await ServerCommand.RunAsync(["apikey", "create", "--data-dir", otherData.Path, "--org", "initech"], output, error);

        Assert.True(exit == 0, error.ToString());
        var key = output.ToString().Trim();
        Assert.StartsWith("dk_", key, StringComparison.Ordinal);
        Assert.Contains("initech", error.ToString(), StringComparison.Ordinal);
        using var api = server.Client(key);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/v1/machines")).Status);
        var keyHashStored = File.ReadAllBytes(Path.Combine(otherData.Path, "dedalus.db"));
        Assert.DoesNotContain(key, System.Text.Encoding.UTF8.GetString(keyHashStored), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_apikey_create_command_refuses_a_directory_without_a_server_database_and_creates_nothing()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var parent = new TempDirectory();
        var typo = parent.Combine("no-such-data-dir");

        var exit = await ServerCommand.RunAsync(["apikey", "create", "--data-dir", typo, "--org", "initech"], output, error);

        Assert.Equal(ServerCommand.ExitFailure, exit);
        Assert.Equal(string.Empty, output.ToString());
        Assert.Contains($"no server database in {typo}", error.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(typo));
    }

    private static void AssertUnauthorized(Response response, string errorCode)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal(errorCode, response.Error().ErrorCode);
    }
}
