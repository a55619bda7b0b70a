using System.Net;

namespace Dedalus.Client.Tests;

/// <summary>
/// Issue #13 in the SDK: reboot, machine and organization autoresizing, machine names in paths, any 2xx as success.
/// The server's routes for reboot and autoresizing come later: these check the request shape against the wire
/// contract (docs: dcs-2026-09.md, 3.1 and 3.4) with a recording handler; real-server tests follow the routes.
/// </summary>
public sealed class ParityTests
{
    private const string MachineJson = """
        {"machine_id":"0b9f6c1e-4a5d-4c3b-9e2f-1a2b3c4d5e6f","vcpu":1,"memory_mib":4096,"storage_gib":10,"autosleep_seconds":300,
         "desired_state":"running","phase":"starting","created_at":"2026-12-02T12:00:00Z","name":"web-1",
         "status":{"phase":"starting","reason":"reboot","retryable":false,"revision":"3","last_transition_at":"2026-12-02T12:00:00Z",
                   "last_progress_at":"2026-12-02T12:00:00Z","memory_configured_mib":4096}}
        """;

    [Theory]
    [InlineData(false, "/v1/machines/dm-0b9f6c1e-4a5d-4c3b-9e2f-1a2b3c4d5e6f/reboot")]
    [InlineData(true, "/v1/machines/dm-0b9f6c1e-4a5d-4c3b-9e2f-1a2b3c4d5e6f/reboot?force=true")]
    public async Task Reboot_posts_no_body_with_an_idempotency_key_and_force_only_when_asked(bool force, string expected)
    {
        var handler = new RecordingHandler(body: MachineJson);
        using var client = handler.CreateClient();

        var machine = await client.Machines.RebootAsync("0B9F6C1E-4A5D-4C3B-9E2F-1A2B3C4D5E6F", force);

        var request = Assert.Single(handler.Requests);
        Assert.Equal(("POST", expected, null), (request.Method, request.PathAndQuery, request.Body));
        Assert.StartsWith("dedalus-csharp-", request.Header("Idempotency-Key"), StringComparison.Ordinal);
        Assert.Equal("Bearer test-key", request.Header("Authorization"));
        Assert.Equal(("0b9f6c1e-4a5d-4c3b-9e2f-1a2b3c4d5e6f", "web-1", MachinePhases.Starting), (machine.MachineId, machine.Name, machine.Status.Phase));
    }

    [Fact]
    public async Task Machine_autoresizing_is_a_get_and_a_put_of_enabled()
    {
        var handler = new RecordingHandler(body: """{"enabled":false}""");
        using var client = handler.CreateClient();

        var read = await client.Machines.Autoresizing.GetAsync("web-1");
        var set = await client.Machines.Autoresizing.SetAsync(Samples.MachineId, enabled: false);

        Assert.Equal(false, read.Enabled);
        Assert.Equal(false, set.Enabled);
        Assert.Equal(("GET", "/v1/machines/web-1/autoresizing", null), (handler.Requests[0].Method, handler.Requests[0].PathAndQuery, handler.Requests[0].Body));
        Assert.Null(handler.Requests[0].Header("Idempotency-Key"));
        Assert.Equal(("PUT", $"/v1/machines/{Samples.MachineId}/autoresizing", """{"enabled":false}""", "application/json"),
            (handler.Requests[1].Method, handler.Requests[1].PathAndQuery, handler.Requests[1].Body, handler.Requests[1].ContentType));
        Assert.NotNull(handler.Requests[1].Header("Idempotency-Key"));
    }

    [Fact]
    public async Task Organization_autoresizing_is_a_get_and_a_put_of_enabled()
    {
        var handler = new RecordingHandler(body: """{"enabled":true}""");
        using var client = handler.CreateClient();

        var read = await client.Organization.Autoresizing.GetAsync();
        var set = await client.Organization.Autoresizing.SetAsync(enabled: true);

        Assert.True(read.Enabled);
        Assert.True(set.Enabled);
        Assert.Equal(
            [("GET", "/v1/organization/autoresizing", (string?)null), ("PUT", "/v1/organization/autoresizing", """{"enabled":true}""")],
            handler.Requests.Select(r => (r.Method, r.PathAndQuery, r.Body)));
    }

    [Fact]
    public async Task The_network_extension_is_sent_on_create_and_update_and_read_back()
    {
        const string networked = """
            {"machine_id":"0b9f6c1e-4a5d-4c3b-9e2f-1a2b3c4d5e6f","vcpu":1,"memory_mib":4096,"storage_gib":10,"autosleep_seconds":300,
             "desired_state":"running","phase":"running","created_at":"2026-12-02T12:00:00Z",
             "status":{"phase":"running","reason":"running","retryable":false,"revision":"3","last_transition_at":"2026-12-02T12:00:00Z",
                       "last_progress_at":"2026-12-02T12:00:00Z"},
             "network":{"egress":"none","allow_cidrs":["203.0.113.0/24"],"deny_cidrs":[],"address":"198.51.100.7"}}
            """;
        var handler = new RecordingHandler(body: networked);
        using var client = handler.CreateClient();

        var created = await client.Machines.CreateAsync(new CreateMachineRequest(Network: new MachineNetworkSettings(Egress: EgressModes.None)));
        await client.Machines.UpdateAsync("web-1", new UpdateMachineRequest(Network: new MachineNetworkSettings(AllowCidrs: ["203.0.113.0/24"])));

        Assert.Equal("""{"network":{"egress":"none"}}""", handler.Requests[0].Body);
        Assert.Equal("""{"network":{"allow_cidrs":["203.0.113.0/24"]}}""", handler.Requests[1].Body);
        Assert.Equal("198.51.100.7", created.Network!.Address);
        Assert.Equal(EgressModes.None, created.Network.Egress);
        Assert.Equal(["203.0.113.0/24"], created.Network.AllowCidrs);
    }

    [Fact]
    public async Task A_machine_without_the_network_extension_reads_as_it_did()
    {
        var handler = new RecordingHandler(body: MachineJson);
        using var client = handler.CreateClient();

        var machine = await client.Machines.RetrieveAsync("web-1");

        Assert.Null(machine.Network);
    }

    [Theory]
    [InlineData(HttpStatusCode.OK)]
    [InlineData(HttpStatusCode.Created)]
    [InlineData(HttpStatusCode.Accepted)]
    [InlineData((HttpStatusCode)299)]
    public async Task Any_2xx_is_success(HttpStatusCode status)
    {
        var handler = new RecordingHandler(status, MachineJson);
        using var client = handler.CreateClient();

        var created = await client.Machines.CreateAsync(new CreateMachineRequest());
        var slept = await client.Machines.SleepAsync("web-1");

        Assert.Equal("web-1", created.Name);
        Assert.Equal("web-1", slept.Name);
        Assert.Equal("{}", handler.Requests[0].Body);
    }

    [Theory]
    [InlineData("web-1", "/v1/machines/web-1")]
    [InlineData("web 1", "/v1/machines/web%201")]
    [InlineData("été", "/v1/machines/%C3%A9t%C3%A9")]
    [InlineData("a?b#c%d", "/v1/machines/a%3Fb%23c%25d")]
    [InlineData("a\\..", "/v1/machines/a%5C..")]
    [InlineData("%2e%2e", "/v1/machines/%252e%252e")]
    [InlineData("...", "/v1/machines/...")]
    [InlineData("0b9f6c1e4a5d4c3b9e2f1a2b3c4d5e6f", "/v1/machines/0b9f6c1e4a5d4c3b9e2f1a2b3c4d5e6f")]
    public async Task A_machine_name_is_sent_as_one_percent_encoded_segment(string name, string expected)
    {
        var handler = new RecordingHandler(body: MachineJson);
        using var client = handler.CreateClient();

        await client.Machines.RetrieveAsync(name);
        await client.Machines.UpdateAsync(name, new UpdateMachineRequest(Name: string.Empty));

        Assert.Equal([expected, expected], handler.Requests.Select(r => r.PathAndQuery));
        Assert.Equal("""{"name":""}""", handler.Requests[1].Body);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData(" web")]
    [InlineData("web\n")]
    [InlineData("")]
    public async Task Text_that_is_neither_an_id_nor_a_name_is_refused_before_sending(string machine)
    {
        var handler = new RecordingHandler(body: MachineJson);
        using var client = handler.CreateClient();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.Machines.RebootAsync(machine));

        Assert.Equal("machineId", error.ParamName);
        Assert.Contains("is neither a machine id (dm-<uuid> or the bare uuid) nor a machine name", error.Message, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public void Options_that_do_not_read_the_environment_keep_unset_values_unset()
    {
        var options = new DedalusClientOptions { ApiKey = "k", ReadEnvironment = false }.WithEnvironmentDefaults();

        Assert.Equal((DedalusClientOptions.DefaultBaseUrl, "k", null, null), (options.BaseUrl, options.ApiKey, options.XApiKey, options.OrgId));
    }
}
