using Dedalus.Contracts;
using Dedalus.Server.Store;

namespace Dedalus.Server.Tests.Store;

public abstract partial class StoreContractTests
{
    [Fact]
    public async Task An_inserted_execution_reads_back_with_its_position_and_first_event_and_is_activity_on_its_machine()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var execution = NewExecution(machine, at: T0 + TimeSpan.FromMinutes(2));

        var stored = await InsertExecutionAsync(execution);

        Assert.True(stored.Seq > 0);
        Assert.Equal(execution with { Seq = stored.Seq, LastSequence = 1 }, stored);
        var read = (await Store.GetExecutionAsync(execution.Id))!;
        Assert.Equal(stored.Command, read.Command);
        Assert.Equal(stored.EnvKeys, read.EnvKeys);
        Assert.Equal(stored with { Command = read.Command, EnvKeys = read.EnvKeys }, read);
        var created = Assert.Single(await Store.ListExecutionEventsAsync(stored.Seq, 0, 10));
        Assert.Equal(Lifecycle(ExecutionStatuses.Queued, execution.CreatedAt) with { Sequence = 1 }, created);
        Assert.Equal(T0 + TimeSpan.FromMinutes(2), (await Store.GetMachineAsync(machine.Id))!.LastActivityAt);
        Assert.Null(await Store.GetExecutionAsync("ex_missing"));
    }

    [Fact]
    public async Task An_execution_of_a_gone_machine_or_one_the_admission_check_refuses_is_not_stored()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var refused = NewExecution(machine);

        Assert.Null(await Store.InsertExecutionAsync(NewExecution(NewMachine(machine.OrgId)), Lifecycle(ExecutionStatuses.Queued)));
        await Assert.ThrowsAsync<RefusedException>(() => Store.InsertExecutionAsync(refused, Lifecycle(ExecutionStatuses.Queued), _ => throw new RefusedException()));

        Assert.Null(await Store.GetExecutionAsync(refused.Id));
        Assert.Empty((await Store.ListExecutionsAsync(machine.Id, 0, 10)).Items);
    }

    [Fact]
    public async Task An_update_appends_its_events_after_the_last_and_a_cursor_pages_through_them()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var stored = await InsertExecutionAsync(NewExecution(machine));
        var running = stored with { Status = ExecutionStatuses.Running, StartedAt = T0 + TimeSpan.FromSeconds(1), StdoutBytes = 6, StdoutKept = 6 };

        var afterStart = await Store.UpdateExecutionAsync(running, [Lifecycle(ExecutionStatuses.Running), Output(ExecutionEventTypes.Stdout, "hello\n")], 10);
        var afterOutput = await Store.UpdateExecutionAsync(
            running with { StderrBytes = 4, StderrKept = 4 }, [Output(ExecutionEventTypes.Stderr, "oops"), Output(ExecutionEventTypes.Stdout, "a\0b")], 10);

        Assert.Equal(3, afterStart!.LastSequence);
        Assert.Equal(5, afterOutput!.LastSequence);
        var events = await Store.ListExecutionEventsAsync(stored.Seq, 0, 100);
        Assert.Equal([1L, 2, 3, 4, 5], events.Select(e => e.Sequence));
        Assert.Equal([ExecutionEventTypes.Lifecycle, ExecutionEventTypes.Lifecycle, ExecutionEventTypes.Stdout, ExecutionEventTypes.Stderr, ExecutionEventTypes.Stdout], events.Select(e => e.Type));
        Assert.Equal(ExecutionStatuses.Running, events[1].Status);
        Assert.Equal("a\0b", events[4].Chunk);
        Assert.Equal(events.Skip(2).Take(2), await Store.ListExecutionEventsAsync(stored.Seq, 2, 2));
        Assert.Empty(await Store.ListExecutionEventsAsync(stored.Seq, 5, 10));
        Assert.Equal(("hello\na\0b", "oops"), await Store.GetExecutionOutputAsync(stored.Seq));
        var read = (await Store.GetExecutionAsync(stored.Id))!;
        Assert.Equal((ExecutionStatuses.Running, 5L, 4L), (read.Status, read.LastSequence, read.StderrKept));
    }

    [Fact]
    public async Task A_finished_execution_takes_no_more_updates()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var finished = await FinishAsync(await InsertExecutionAsync(NewExecution(machine)), T0 + TimeSpan.FromSeconds(5));

        var late = await Store.UpdateExecutionAsync(finished with { Status = ExecutionStatuses.Running, ExitCode = null }, [Output(ExecutionEventTypes.Stdout, "late")], 10);

        Assert.Null(late);
        var read = (await Store.GetExecutionAsync(finished.Id))!;
        Assert.Equal((ExecutionStatuses.Succeeded, (int?)0, 2L, (DateTimeOffset?)(T0 + TimeSpan.FromSeconds(5))), (read.Status, read.ExitCode, read.LastSequence, read.CompletedAt));
        Assert.Equal(2, (await Store.ListExecutionEventsAsync(finished.Seq, 0, 10)).Count);
    }

    [Fact]
    public async Task Finishing_an_execution_keeps_only_the_newest_finished_ones_of_its_machine_and_every_live_one()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var other = await InsertAsync(NewMachine(machine.OrgId));
        var live = await InsertExecutionAsync(NewExecution(machine));
        var elsewhere = await FinishAsync(await InsertExecutionAsync(NewExecution(other)), T0);
        var finished = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            finished.Add((await FinishAsync(await InsertExecutionAsync(NewExecution(machine)), T0 + TimeSpan.FromSeconds(i), keepPerMachine: 2)).Id);
        }

        var listed = (await Store.ListExecutionsAsync(machine.Id, 0, 100)).Items.Select(e => e.Id);

        Assert.Equal([live.Id, finished[2], finished[3]], listed);
        Assert.NotNull(await Store.GetExecutionAsync(elsewhere.Id));
        Assert.Null(await Store.GetExecutionAsync(finished[0]));
    }

    [Fact]
    public async Task Executions_of_a_machine_page_in_insertion_order()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await InsertExecutionAsync(NewExecution(machine))).Id);
        }

        var first = await Store.ListExecutionsAsync(machine.Id, 0, 2);
        var second = await Store.ListExecutionsAsync(machine.Id, first.NextAfter!.Value, 2);
        var third = await Store.ListExecutionsAsync(machine.Id, second.NextAfter!.Value, 2);

        Assert.Equal(ids, first.Items.Concat(second.Items).Concat(third.Items).Select(e => e.Id));
        Assert.Null(third.NextAfter);
    }

    [Fact]
    public async Task Orphaned_executions_are_the_live_ones_another_runner_drives()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var mine = await InsertExecutionAsync(NewExecution(machine, runner: "runner-b"));
        var orphan = await InsertExecutionAsync(NewExecution(machine, runner: "runner-a"));
        await FinishAsync(await InsertExecutionAsync(NewExecution(machine, runner: "runner-a")), T0);

        var orphans = await Store.ListOrphanedExecutionsAsync("runner-b");

        Assert.Equal([orphan.Id], orphans.Select(e => e.Id));
        Assert.DoesNotContain(mine.Id, orphans.Select(e => e.Id));
    }

    [Fact]
    public async Task Advancing_the_token_epoch_raises_it_by_one_each_time()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var execution = await InsertExecutionAsync(NewExecution(machine));

        Assert.Equal(1, await Store.AdvanceExecutionTokenEpochAsync(execution.Id));
        Assert.Equal(2, await Store.AdvanceExecutionTokenEpochAsync(execution.Id));
        Assert.Null(await Store.AdvanceExecutionTokenEpochAsync("ex_missing"));
        Assert.Equal(2, (await Store.GetExecutionAsync(execution.Id))!.TokenEpoch);
    }

    [Fact]
    public async Task Expired_executions_are_deleted_with_their_events_at_most_a_batch_at_a_time()
    {
        var machine = await InsertAsync(NewMachine(await OrgAsync()));
        var expired = new List<ExecutionRecord>();
        for (var i = 0; i < 3; i++)
        {
            expired.Add(await FinishAsync(await InsertExecutionAsync(NewExecution(machine)), T0 + TimeSpan.FromSeconds(i)));
        }

        var kept = await FinishAsync(await InsertExecutionAsync(NewExecution(machine)), T0 + TimeSpan.FromHours(2));
        var live = await InsertExecutionAsync(NewExecution(machine));
        var now = T0 + TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1);

        Assert.Equal(2, await Store.DeleteExpiredExecutionsAsync(now, 2));
        Assert.Equal(1, await Store.DeleteExpiredExecutionsAsync(now, 2));
        Assert.Equal(0, await Store.DeleteExpiredExecutionsAsync(now, 2));

        Assert.Equal([kept.Id, live.Id], (await Store.ListExecutionsAsync(machine.Id, 0, 10)).Items.Select(e => e.Id));
        Assert.Empty(await Store.ListExecutionEventsAsync(expired[0].Seq, 0, 10));
        Assert.Equal(("", ""), await Store.GetExecutionOutputAsync(expired[2].Seq));
    }
}
