using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// <c>/metrics</c> of a real server (Kestrel on 127.0.0.1:0, SQLite, the in-memory runtime): the Prometheus text parses,
/// and after the test creates a machine, sessions and a wake, the series say so with the right labels and counts.
/// </summary>
public sealed class MetricsTests : ServerTestBase
{
    /// <summary>A fast sweep: the machines-by-phase gauge is what the last sweep saw.</summary>
    protected override Task<RunningServer> StartServerAsync(string dataDirectory) =>
        RunningServer.StartAsync(dataDirectory, extraArgs: ["--Dedalus:SweepInterval", "00:00:00.100"]);

    [Fact]
    public async Task A_scrape_counts_what_the_test_did_by_route_template_outcome_and_phase()
    {
        var before = await ScrapeAsync();
        Assert.Equal(0, before.Value("dedalus_session_creates_total", ("outcome", SshSessionStatuses.Ready)));

        var machine = await Api.CreateRunningMachineAsync("""{"vcpu":1,"memory_mib":1024,"storage_gib":10,"autosleep":"never"}""");
        var ready = await Api.OpenSessionAsync(machine.MachineId);
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal(SshSessionStatuses.Ready, ready.Session().Status);
        var refused = await Api.OpenSessionAsync(machine.MachineId, "ssh-ed25519 not-a-key");
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);

        // A wake: sleep, then a session create wakes the machine (sleeping -> starting -> running).
        Assert.Equal(HttpStatusCode.OK, (await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null)).Status);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        var waking = await Api.OpenSessionAsync(machine.MachineId);
        Assert.Equal(HttpStatusCode.OK, waking.Status);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);
        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Status);

        // The phase gauge follows the sweep; the scrape may be cached for a moment.
        var nodeId = Server.Service<LocalNode>().Id;
        PrometheusText after = before;
        Assert.True(
            await Eventually.TrueAsync(async () =>
            {
                after = await ScrapeAsync();
                return after.Value("dedalus_machine_count", ("dedalus_machine_phase", MachinePhases.Running)) == 1
                    && after.Value("dedalus_machine_wake_duration_seconds_count") == 1;
            }),
            "the scrape never showed one running machine and one wake");

        // Session creates: two answered (the ready one and the waking one), one refused, by outcome; each timed.
        var creates = after.Series("dedalus_session_creates_total").ToList();
        Assert.Equal(2, creates.Where(s => s.Label("outcome") is SshSessionStatuses.Ready or SshSessionStatuses.WakeInProgress).Sum(s => s.Value));
        Assert.Equal(1, after.Value("dedalus_session_creates_total", ("outcome", "invalid_request")));
        Assert.Equal(3, after.Series("dedalus_session_create_duration_seconds_count").Sum(s => s.Value));
        Assert.True(after.Series("dedalus_session_create_duration_seconds_sum").Sum(s => s.Value) > 0);
        Assert.Equal("histogram", after.Types["dedalus_session_create_duration_seconds"]);

        // Machines by phase: every phase reported, labelled with this node; only the one machine, running.
        var phases = after.Series("dedalus_machine_count").ToList();
        Assert.Equal(9, phases.Count);
        Assert.All(phases, s => Assert.Equal(nodeId, s.Label("dedalus_node_id")));
        Assert.Equal(1, phases.Sum(s => s.Value));
        Assert.Equal("gauge", after.Types["dedalus_machine_count"]);

        // The wake was timed, in seconds.
        var wakeSeconds = after.Value("dedalus_machine_wake_duration_seconds_sum");
        Assert.InRange(wakeSeconds, double.Epsilon, 60);

        // The reconciler: passes counted (create, wake, sleep), nothing failed, the queue drained.
        Assert.True(after.Value("dedalus_reconciler_passes_total") >= 3, "reconciler passes: " + after.Value("dedalus_reconciler_passes_total"));
        Assert.Equal(0, after.Series("dedalus_reconciler_errors_total").Sum(s => s.Value));
        Assert.Equal(0, after.Value("dedalus_reconciler_queue_depth"));

        // HTTP requests by route template and status, never by raw path: no machine id in any route label.
        var requests = after.Series("http_server_request_duration_seconds_count").ToList();
        Assert.True(
            after.Value("http_server_request_duration_seconds_count", ("http_route", "/v1/machines/{machineId}"), ("http_request_method", "GET"), ("http_response_status_code", "200")) >= 1,
            string.Join('\n', requests.Select(r => string.Join(',', r.Labels))));
        Assert.Equal(3, requests.Where(s => s.Label("http_route") is { } route && route.StartsWith("/v1/machines/{machineId}/ssh", StringComparison.Ordinal)
            && s.Label("http_request_method") == "POST").Sum(s => s.Value));
        Assert.Contains(requests, s => s.Label("http_response_status_code") == "400");
        Assert.DoesNotContain(after.Samples, s => s.Labels.Values.Any(v => v.Contains(machine.MachineId, StringComparison.Ordinal)));
        Assert.All(requests, s => Assert.DoesNotContain("dm-", s.Label("http_route") ?? string.Empty, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_to_a_path_that_does_not_exist_gets_no_route_label()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/v1/machines/dm-00000000-0000-0000-0000-000000000000/nothing/here")).Status);
        var scrape = await ScrapeAsync();
        var misses = scrape.Series("http_server_request_duration_seconds_count").Where(s => s.Label("http_response_status_code") == "404").ToList();
        Assert.NotEmpty(misses);
        Assert.All(misses, s => Assert.Null(s.Label("http_route")));
    }

    private async Task<PrometheusText> ScrapeAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Server.BaseUrl), Timeout = RunningServer.Timeout };
        using var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return PrometheusText.Parse(body);
    }
}
