using Dedalus.Contracts;

namespace Dedalus.Server.Tests.Store;

/// <summary>Executions created on a node that does not own their machine: stored unclaimed with a sealed input, claimed once.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task An_unclaimed_execution_is_listed_as_such_not_as_an_orphan_and_its_claim_returns_its_sealed_input_once()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var claimedElsewhere = await InsertExecutionAsync(NewExecution(machine, runner: "runner-b"));
        var unclaimed = (await Store.InsertExecutionAsync(NewExecution(machine, runner: ""), Lifecycle(ExecutionStatuses.Queued), sealedInput: [1, 0, 255]))!;

        Assert.True(unclaimed.IsUnclaimed);
        Assert.Equal([unclaimed.Id], (await Store.ListUnclaimedExecutionsAsync()).Select(e => e.Id));
        Assert.Equal([claimedElsewhere.Id], (await Store.ListOrphanedExecutionsAsync("runner-a")).Select(e => e.Id));

        var claimed = await Store.ClaimExecutionAsync(unclaimed.Id, "runner-a");

        Assert.NotNull(claimed);
        Assert.Equal(unclaimed with { Runner = "runner-a" }, claimed.Execution with { Command = unclaimed.Command, EnvKeys = unclaimed.EnvKeys });
        Assert.Equal(new byte[] { 1, 0, 255 }, claimed.SealedInput);
        Assert.Equal("runner-a", (await Store.GetExecutionAsync(unclaimed.Id))!.Runner);
        Assert.Null(await Store.ClaimExecutionAsync(unclaimed.Id, "runner-b"));
        Assert.Null(await Store.ClaimExecutionAsync(claimedElsewhere.Id, "runner-a"));
        Assert.Null(await Store.ClaimExecutionAsync("ex_missing", "runner-a"));
        Assert.Empty(await Store.ListUnclaimedExecutionsAsync());
    }

    [Fact]
    public async Task A_finished_execution_cannot_be_claimed_and_keeps_no_sealed_input()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var unclaimed = (await Store.InsertExecutionAsync(NewExecution(machine, runner: ""), Lifecycle(ExecutionStatuses.Queued), sealedInput: [7]))!;

        await FinishAsync(unclaimed, T0 + TimeSpan.FromSeconds(1));

        Assert.Null(await Store.ClaimExecutionAsync(unclaimed.Id, "runner-a"));
        Assert.Empty(await Store.ListUnclaimedExecutionsAsync());
    }

    [Fact]
    public async Task A_cancel_request_is_recorded_on_a_live_execution_only()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var live = await InsertExecutionAsync(NewExecution(machine));
        var finished = await FinishAsync(await InsertExecutionAsync(NewExecution(machine)), T0 + TimeSpan.FromSeconds(1));

        Assert.True((await Store.RequestExecutionCancelAsync(live.Id))!.CancelRequested);
        Assert.True((await Store.GetExecutionAsync(live.Id))!.CancelRequested);
        var after = await Store.RequestExecutionCancelAsync(finished.Id);
        Assert.False(after!.CancelRequested);
        Assert.Equal(finished.Status, after.Status);
        Assert.Null(await Store.RequestExecutionCancelAsync("ex_missing"));

        // The claim carries the request to the runner that claims.
        var unclaimed = (await Store.InsertExecutionAsync(NewExecution(machine, runner: ""), Lifecycle(ExecutionStatuses.Queued), sealedInput: [1]))!;
        await Store.RequestExecutionCancelAsync(unclaimed.Id);
        Assert.True((await Store.ClaimExecutionAsync(unclaimed.Id, "runner-a"))!.Execution.CancelRequested);
    }
}
