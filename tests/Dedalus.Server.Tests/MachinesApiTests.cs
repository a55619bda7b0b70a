using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

public class MachinesApiTests : ServerTestBase
{
    [Fact]
    public async Task Creating_a_machine_answers_200_with_a_bare_uuid_its_revision_as_etag_and_both_phase_forms()
    {
        var response = await Api.PostAsync("/v1/machines", """{"vcpu":0.5,"memory_mib":512,"storage_gib":2,"autosleep":"15m"}""");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var machine = response.Machine();
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", machine.MachineId);
        Assert.Equal(0.5, machine.Vcpu);
        Assert.Equal(512, machine.MemoryMib);
        Assert.Equal(2, machine.StorageGib);
        Assert.Equal(900, machine.AutosleepSeconds);
        Assert.Equal(DesiredStates.Running, machine.DesiredState);
        Assert.Equal(MachinePhases.Accepted, machine.Phase);
        Assert.Equal(machine.Phase, machine.Status.Phase);
        Assert.Equal($"\"{machine.Status.Revision}\"", response.ETag);
        Assert.Contains("\"phase\":\"accepted\"", response.Body, StringComparison.Ordinal);
        Assert.Contains("\"status\":{", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_created_machine_runs_and_get_answers_200_with_a_higher_revision_as_etag()
    {
        var created = await Api.CreateMachineAsync();

        var running = await Api.WaitForPhaseAsync(created.MachineId, MachinePhases.Running);
        var response = await Api.GetAsync($"/v1/machines/{created.MachineId}");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.True(long.Parse(running.Status.Revision) > long.Parse(created.Status.Revision));
        Assert.Equal($"\"{running.Status.Revision}\"", response.ETag);
        Assert.Equal(300, running.AutosleepSeconds);
    }

    [Fact]
    public async Task The_dm_form_and_an_upper_case_uuid_are_accepted_as_machine_id_and_answered_as_the_bare_lowercase_uuid()
    {
        var created = await Api.CreateMachineAsync();

        var prefixed = await Api.GetAsync($"/v1/machines/dm-{created.MachineId}");
        var upper = await Api.GetAsync($"/v1/machines/{created.MachineId.ToUpperInvariant()}");

        Assert.Equal(HttpStatusCode.OK, prefixed.Status);
        Assert.Equal(created.MachineId, prefixed.Machine().MachineId);
        Assert.Equal(created.MachineId, upper.Machine().MachineId);
    }

    [Fact]
    public async Task Listing_pages_through_every_machine_with_an_opaque_next_cursor()
    {
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await Api.CreateMachineAsync()).MachineId);
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var response = await Api.GetAsync("/v1/machines?limit=2" + (cursor is null ? string.Empty : "&cursor=" + Uri.EscapeDataString(cursor)));
            Assert.Equal(HttpStatusCode.OK, response.Status);
            var page = response.MachineList();
            Assert.True(page.Items.Count <= 2);
            seen.AddRange(page.Items.Select(m => m.MachineId));
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(ids, seen);
    }

    [Fact]
    public async Task Listing_without_limit_returns_every_machine_on_one_page_without_a_cursor()
    {
        await Api.CreateMachineAsync();
        await Api.CreateMachineAsync();

        var page = (await Api.GetAsync("/v1/machines")).MachineList();

        Assert.Equal(2, page.Items.Count);
        Assert.Null(page.NextCursor);
    }

    [Fact]
    public async Task Sleep_answers_202_the_machine_then_sleeps_and_a_second_sleep_answers_200()
    {
        var machine = await Api.CreateRunningMachineAsync();

        var sleep = await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        Assert.Equal(HttpStatusCode.OK, sleep.Status);
        Assert.Equal(DesiredStates.Sleeping, sleep.Machine().DesiredState);

        var asleep = await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        Assert.Equal("sleeping", asleep.Status.Phase);
        var again = await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(asleep.Status.Revision, again.Machine().Status.Revision);
    }

    [Fact]
    public async Task Wake_of_a_sleeping_machine_answers_202_and_wake_of_a_running_machine_answers_200()
    {
        var machine = await Api.CreateRunningMachineAsync();
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);

        var wake = await Api.PostAsync($"/v1/machines/{machine.MachineId}/wake", null);
        Assert.Equal(HttpStatusCode.OK, wake.Status);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);

        var again = await Api.PostAsync($"/v1/machines/{machine.MachineId}/wake", null);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(MachinePhases.Running, again.Machine().Phase);
    }

    [Fact]
    public async Task Patch_with_a_stale_if_match_is_409_revision_mismatch_naming_both_revisions()
    {
        var machine = await Api.CreateRunningMachineAsync();

        var response = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"memory_mib":2048}""", new Dictionary<string, string> { ["If-Match"] = "\"1\"" });

        Assert.Equal(HttpStatusCode.Conflict, response.Status);
        var error = response.Error();
        Assert.Equal(ErrorCodes.RevisionMismatch, error.ErrorCode);
        Assert.True(error.Retryable);
        Assert.Equal(machine.Status.Revision, error.Details!["expected_revision"]);
        Assert.Equal("1", error.Details["provided_revision"]);
        Assert.Equal(1024, (await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine().MemoryMib);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Patch_with_the_current_revision_quoted_or_not_resizes_the_machine(bool quoted)
    {
        var machine = await Api.CreateRunningMachineAsync();
        var ifMatch = quoted ? $"\"{machine.Status.Revision}\"" : machine.Status.Revision;

        var response = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"vcpu":2,"memory_mib":2048,"storage_gib":20}""", new Dictionary<string, string> { ["If-Match"] = ifMatch });

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var patched = response.Machine();
        Assert.Equal(2, patched.Vcpu);
        Assert.Equal(2048, patched.MemoryMib);
        Assert.Equal(20, patched.StorageGib);
        await Server.SettleAsync();
        Assert.Equal(20, Server.Runtime.GetSpec(machine.MachineId)!.Resources.StorageGib);
    }

    [Fact]
    public async Task Patch_of_autosleep_only_is_converged_inline_and_answers_200()
    {
        var machine = await Api.CreateRunningMachineAsync();

        var response = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"autosleep":"never"}""");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(0, response.Machine().AutosleepSeconds);
    }

    [Fact]
    public async Task Storage_cannot_shrink_and_the_error_names_storage_gib()
    {
        var machine = await Api.CreateRunningMachineAsync();

        var response = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"storage_gib":5}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("storage_gib", response.Error().Message, StringComparison.Ordinal);
        Assert.Equal(10, (await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine().StorageGib);
    }

    [Fact]
    public async Task Delete_answers_202_the_machine_is_destroyed_and_then_wake_is_409_invalid_state()
    {
        var machine = await Api.CreateRunningMachineAsync();

        var delete = await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        Assert.Equal(HttpStatusCode.OK, delete.Status);
        Assert.Equal(DesiredStates.Destroyed, delete.Machine().DesiredState);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Destroyed);
        Assert.Null(Server.Runtime.GetSpec(machine.MachineId));

        var wake = await Api.PostAsync($"/v1/machines/{machine.MachineId}/wake", null);
        Assert.Equal(HttpStatusCode.Conflict, wake.Status);
        var error = wake.Error();
        Assert.Equal(ErrorCodes.InvalidState, error.ErrorCode);
        Assert.False(error.Retryable);
        Assert.Equal(DesiredStates.Destroyed, error.Details!["current_desired_state"]);
        Assert.Equal(MachinePhases.Destroyed, error.Details["current_observed_state"]);
        Assert.Equal(MachinePhases.Sleeping, error.Details["expected_observed_state"]);
        Assert.Equal(DesiredStates.Running, error.Details["target_desired_state"]);

        var deleteAgain = await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        Assert.Equal(HttpStatusCode.OK, deleteAgain.Status);
        var patch = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"vcpu":2}""");
        Assert.Equal(ErrorCodes.InvalidState, patch.Error().ErrorCode);
    }

    [Fact]
    public async Task A_machine_whose_runtime_fails_is_failed_with_last_error_and_sleep_is_invalid_state()
    {
        Server.Runtime.FailWhen = _ => true;
        var machine = await Api.CreateMachineAsync();

        var failed = await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Failed);

        Assert.Equal("simulated runtime failure", failed.Status.LastError);
        Assert.True(failed.Status.Retryable);
        var sleep = await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        Assert.Equal(HttpStatusCode.Conflict, sleep.Status);
        Assert.Equal("error", sleep.Error().Details!["current_observed_state"]);
    }

    [Fact]
    public async Task The_ports_of_machines_are_distinct_and_from_the_configured_range()
    {
        var store = Server.Service<Dedalus.Server.Store.IStore>();
        var first = await Api.CreateMachineAsync();
        var second = await Api.CreateMachineAsync();

        var a = await store.GetMachineAsync(first.StoreId());
        var b = await store.GetMachineAsync(second.StoreId());

        Assert.InRange(a!.GatewayPort, 2200, 2299);
        Assert.InRange(b!.GatewayPort, 2200, 2299);
        Assert.NotEqual(a.GatewayPort, b.GatewayPort);
    }
}
