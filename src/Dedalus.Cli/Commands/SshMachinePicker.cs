using System.Globalization;
using System.Text;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>dedalus ssh</c> without a machine id, on a terminal: a list of the org's machines (every page of
/// <c>/v1/machines</c>, destroyed ones left out) with name, id and phase; arrow keys (or j/k) or a number move the
/// selection, Enter picks, Esc or Ctrl-C cancels. The logic is pure (<see cref="Apply"/>, <see cref="Render"/>); only
/// <see cref="Pick"/> touches the terminal, drawing on stderr and reading keys from stdin.
/// </summary>
internal static class SshMachinePicker
{
    /// <summary>Rows shown at once; the window follows the selection.</summary>
    internal const int WindowRows = 12;

    /// <summary>A key the picker understands.</summary>
    internal enum KeyKind
    {
        Other,
        Up,
        Down,
        Home,
        End,
        Enter,
        Cancel,
        Digit,
    }

    /// <summary>The machines that can be picked: every one not destroyed (by desired state or phase), in list order.</summary>
    internal static IReadOnlyList<Machine> Pickable(IEnumerable<Machine> machines) =>
        machines.Where(m => m.DesiredState != DesiredStates.Destroyed && PhaseOf(m) != MachinePhases.Destroyed).ToList();

    internal static string PhaseOf(Machine machine) => machine.Status?.Phase is { Length: > 0 } phase ? phase : machine.Phase;

    /// <summary>Maps a key read from the console to what it means here.</summary>
    internal static (KeyKind Kind, int Digit) Classify(ConsoleKeyInfo key) => key switch
    {
        { Key: ConsoleKey.C, Modifiers: ConsoleModifiers.Control } or { KeyChar: '\u0003' } => (KeyKind.Cancel, 0),
        { Key: ConsoleKey.Escape } or { KeyChar: '\u001b' } => (KeyKind.Cancel, 0),
        { Key: ConsoleKey.UpArrow } or { KeyChar: 'k' } or { Key: ConsoleKey.P, Modifiers: ConsoleModifiers.Control } => (KeyKind.Up, 0),
        { Key: ConsoleKey.DownArrow } or { KeyChar: 'j' } or { Key: ConsoleKey.N, Modifiers: ConsoleModifiers.Control } => (KeyKind.Down, 0),
        { Key: ConsoleKey.Home } => (KeyKind.Home, 0),
        { Key: ConsoleKey.End } => (KeyKind.End, 0),
        { Key: ConsoleKey.Enter } or { KeyChar: '\r' or '\n' } => (KeyKind.Enter, 0),
        { KeyChar: >= '0' and <= '9' } => (KeyKind.Digit, key.KeyChar - '0'),
        _ => (KeyKind.Other, 0),
    };

    /// <summary>
    /// One key's effect. Digits type a 1-based row number (several digits for more than nine rows; a number past the
    /// end starts again from the digit); Enter picks the selected row.
    /// </summary>
    internal static PickerState Apply(PickerState state, KeyKind kind, int digit = 0)
    {
        var count = state.Count;
        if (state.Outcome != PickerOutcome.Choosing || count == 0)
        {
            return kind == KeyKind.Cancel ? state with { Outcome = PickerOutcome.Cancelled } : state;
        }

        switch (kind)
        {
            case KeyKind.Up:
                return state with { Selected = (state.Selected - 1 + count) % count, Typed = string.Empty };
            case KeyKind.Down:
                return state with { Selected = (state.Selected + 1) % count, Typed = string.Empty };
            case KeyKind.Home:
                return state with { Selected = 0, Typed = string.Empty };
            case KeyKind.End:
                return state with { Selected = count - 1, Typed = string.Empty };
            case KeyKind.Enter:
                return state with { Outcome = PickerOutcome.Picked };
            case KeyKind.Cancel:
                return state with { Outcome = PickerOutcome.Cancelled };
            case KeyKind.Digit:
                var typed = state.Typed + digit.ToString(CultureInfo.InvariantCulture);
                if (!TryRow(typed, count, out var row))
                {
                    typed = digit.ToString(CultureInfo.InvariantCulture);
                    if (!TryRow(typed, count, out row))
                    {
                        return state with { Typed = string.Empty };
                    }
                }

                return state with { Selected = row, Typed = typed };
            default:
                return state;
        }
    }

    /// <summary>The lines to draw for <paramref name="state"/>: a title, then a window of rows, <c>&gt;</c> on the selected one.</summary>
    internal static IReadOnlyList<string> Render(IReadOnlyList<Machine> machines, PickerState state)
    {
        var lines = new List<string>
        {
            "Pick a machine (up/down or its number, Enter to connect, Esc to cancel):",
        };
        var first = Math.Clamp(state.Selected - (WindowRows / 2), 0, Math.Max(0, machines.Count - WindowRows));
        var last = Math.Min(machines.Count, first + WindowRows);
        var numberWidth = machines.Count.ToString(CultureInfo.InvariantCulture).Length;
        var nameWidth = Math.Min(24, machines.Select(m => Name(m).Length).DefaultIfEmpty(0).Max());
        if (first > 0)
        {
            lines.Add($"    ... {first} more above");
        }

        for (var i = first; i < last; i++)
        {
            var machine = machines[i];
            var number = (i + 1).ToString(CultureInfo.InvariantCulture).PadLeft(numberWidth);
            var name = Name(machine);
            name = name.Length > nameWidth ? name[..(nameWidth - 1)] + "~" : name.PadRight(nameWidth);
            var marker = i == state.Selected ? ">" : " ";
            lines.Add($"{marker} {number}. {name}  {machine.MachineId}  {PhaseOf(machine)}".TrimEnd());
        }

        if (last < machines.Count)
        {
            lines.Add($"    ... {machines.Count - last} more below");
        }

        return lines;
    }

    /// <summary>
    /// Shows the picker on the terminal and returns the picked machine's id, or <see langword="null"/> when cancelled.
    /// The caller checks that stdin and stderr are terminals.
    /// </summary>
    public static string? Pick(IReadOnlyList<Machine> machines)
    {
        var state = new PickerState(machines.Count);
        var drawn = 0;
        var previousCtrlC = Console.TreatControlCAsInput;
        Console.TreatControlCAsInput = true;
        try
        {
            Console.Error.Write("\u001b[?25l");
            while (true)
            {
                drawn = Draw(Render(machines, state), drawn);
                if (state.Outcome != PickerOutcome.Choosing)
                {
                    break;
                }

                var (kind, digit) = Classify(Console.ReadKey(intercept: true));
                state = Apply(state, kind, digit);
            }
        }
        finally
        {
            Console.TreatControlCAsInput = previousCtrlC;
            Erase(drawn);
            Console.Error.Write("\u001b[?25h");
            Console.Error.Flush();
        }

        return state.Outcome == PickerOutcome.Picked ? machines[state.Selected].MachineId : null;
    }

    private static int Draw(IReadOnlyList<string> lines, int previouslyDrawn)
    {
        var builder = new StringBuilder();
        if (previouslyDrawn > 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $"\u001b[{previouslyDrawn}A\r");
        }

        foreach (var line in lines)
        {
            builder.Append(line).Append("\u001b[K\r\n");
        }

        builder.Append("\u001b[J");
        Console.Error.Write(builder.ToString());
        Console.Error.Flush();
        return lines.Count;
    }

    private static void Erase(int drawn)
    {
        if (drawn > 0)
        {
            Console.Error.Write($"\u001b[{drawn.ToString(CultureInfo.InvariantCulture)}A\r\u001b[J");
        }
    }

    /// <summary>The machine's name, control characters (a server's escape sequences) shown as <c>?</c>.</summary>
    private static string Name(Machine machine) =>
        string.IsNullOrWhiteSpace(machine.Name) ? "-" : new string(machine.Name.Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private static bool TryRow(string typed, int count, out int row)
    {
        row = -1;
        if (int.TryParse(typed, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= 1 && number <= count)
        {
            row = number - 1;
            return true;
        }

        return false;
    }
}

/// <summary>Where the picker stands: the selected row, digits typed so far, and whether it is done.</summary>
internal sealed record PickerState(int Count, int Selected = 0, string Typed = "", PickerOutcome Outcome = PickerOutcome.Choosing);

/// <summary>Whether the picker is still choosing, has picked, or was cancelled.</summary>
internal enum PickerOutcome
{
    Choosing,
    Picked,
    Cancelled,
}
