using Dedalus.Cli.Commands;
using static Dedalus.Cli.Commands.SshMachinePicker;

namespace Dedalus.Cli.Tests;

/// <summary>The machine picker of <c>dedalus ssh</c> without an id: which machines, how keys move, what is drawn. Pure.</summary>
public sealed class SshMachinePickerTests
{
    private static readonly IReadOnlyList<Machine> Machines =
    [
        Make("01a23760-0000-7000-8000-000000000001", "web", MachinePhases.Running),
        Make("01a23760-0000-7000-8000-000000000002", null, MachinePhases.Sleeping),
        Make("01a23760-0000-7000-8000-000000000003", "gone", MachinePhases.Destroyed),
        Make("01a23760-0000-7000-8000-000000000004", "going", MachinePhases.Running, DesiredStates.Destroyed),
        Make("01a23760-0000-7000-8000-000000000005", "db", MachinePhases.Starting),
    ];

    [Fact]
    public void Destroyed_machines_by_phase_or_desired_state_are_left_out_and_the_order_is_kept()
    {
        var pickable = Pickable(Machines);

        Assert.Equal(["web", null, "db"], pickable.Select(m => m.Name));
    }

    [Fact]
    public void Arrows_move_and_wrap_and_enter_picks_the_selected_row()
    {
        var state = new PickerState(3);
        state = Apply(state, KeyKind.Down);
        state = Apply(state, KeyKind.Down);
        Assert.Equal(2, state.Selected);
        state = Apply(state, KeyKind.Down);
        Assert.Equal(0, state.Selected);
        state = Apply(state, KeyKind.Up);
        Assert.Equal(2, state.Selected);
        Assert.Equal(PickerOutcome.Choosing, state.Outcome);

        state = Apply(state, KeyKind.Enter);

        Assert.Equal(PickerOutcome.Picked, state.Outcome);
        Assert.Equal(2, state.Selected);
    }

    [Fact]
    public void A_number_selects_its_row_and_several_digits_reach_rows_past_nine()
    {
        var state = new PickerState(12);
        state = Apply(state, KeyKind.Digit, 3);
        Assert.Equal(2, state.Selected);
        state = Apply(state, KeyKind.Digit, 1);
        Assert.Equal(0, state.Selected); // 31 is past the end: the 1 starts again (row 1)
        state = Apply(state, KeyKind.Digit, 2);
        Assert.Equal(11, state.Selected); // 12
        state = Apply(state, KeyKind.Digit, 0);
        Assert.Equal(11, state.Selected); // 120 and 0 are no rows: the selection stays
        Assert.Equal(string.Empty, state.Typed);
    }

    [Fact]
    public void Escape_and_ctrl_c_cancel()
    {
        Assert.Equal(PickerOutcome.Cancelled, Apply(new PickerState(2), Classify(new ConsoleKeyInfo('\u001b', ConsoleKey.Escape, false, false, false)).Kind).Outcome);
        Assert.Equal(PickerOutcome.Cancelled, Apply(new PickerState(2), Classify(new ConsoleKeyInfo('\u0003', ConsoleKey.C, false, false, true)).Kind).Outcome);
    }

    [Fact]
    public void Console_keys_are_classified()
    {
        Assert.Equal(KeyKind.Up, Classify(new ConsoleKeyInfo('\0', ConsoleKey.UpArrow, false, false, false)).Kind);
        Assert.Equal(KeyKind.Down, Classify(new ConsoleKeyInfo('\0', ConsoleKey.DownArrow, false, false, false)).Kind);
        Assert.Equal(KeyKind.Down, Classify(new ConsoleKeyInfo('j', ConsoleKey.J, false, false, false)).Kind);
        Assert.Equal(KeyKind.Enter, Classify(new ConsoleKeyInfo('\r', ConsoleKey.Enter, false, false, false)).Kind);
        Assert.Equal((KeyKind.Digit, 7), Classify(new ConsoleKeyInfo('7', ConsoleKey.D7, false, false, false)));
        Assert.Equal(KeyKind.Other, Classify(new ConsoleKeyInfo('x', ConsoleKey.X, false, false, false)).Kind);
    }

    [Fact]
    public void Rendering_shows_number_name_id_and_phase_with_a_marker_on_the_selection()
    {
        var pickable = Pickable(Machines);

        var lines = Render(pickable, new PickerState(pickable.Count, Selected: 1));

        Assert.Equal(4, lines.Count);
        Assert.StartsWith("Pick a machine", lines[0], StringComparison.Ordinal);
        Assert.Equal("  1. web  dm-01a23760-0000-7000-8000-000000000001  running", lines[1]);
        Assert.Equal("> 2. -    dm-01a23760-0000-7000-8000-000000000002  sleeping", lines[2]);
        Assert.Equal("  3. db   dm-01a23760-0000-7000-8000-000000000005  starting", lines[3]);
    }

    [Fact]
    public void A_long_list_shows_a_window_around_the_selection_and_names_cannot_carry_escape_sequences()
    {
        var many = Enumerable.Range(1, 40)
            .Select(i => Make($"01a23760-0000-7000-8000-{i:D12}", i == 30 ? "evil\u001b[2J" : $"m{i}", MachinePhases.Running))
            .ToList();

        var lines = Render(many, new PickerState(many.Count, Selected: 29));

        Assert.Contains(lines, l => l.StartsWith("> 30. evil?[2J", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("more above", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("more below", StringComparison.Ordinal));
        Assert.True(lines.Count <= WindowRows + 3);
        Assert.DoesNotContain(lines, l => l.Contains('\u001b', StringComparison.Ordinal));
    }

    [Fact]
    public void An_empty_list_can_only_be_cancelled()
    {
        var state = Apply(new PickerState(0), KeyKind.Enter);
        Assert.Equal(PickerOutcome.Choosing, state.Outcome);
        Assert.Equal(PickerOutcome.Cancelled, Apply(state, KeyKind.Cancel).Outcome);
    }

    private static Machine Make(string uuid, string? name, string phase, string desired = DesiredStates.Running) =>
        new(
            "dm-" + uuid, 1, 1024, 2, 0, desired, phase,
            new LifecycleStatus(phase, string.Empty, false, "1", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch),
            DateTimeOffset.UnixEpoch,
            name);
}
