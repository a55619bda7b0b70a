using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Dedalus.Cli.Commands;

/// <summary>
/// What <c>dedalus machines exec</c> makes of its command line, before any request: the machine id and the argv (split
/// at <c>--</c>), <c>--env</c>, <c>--timeout</c> and the stdin text. Pure: every mistake is a <see cref="CliException"/>
/// with <see cref="ExitCodes.Usage"/> and one line saying what to write instead.
/// </summary>
internal static partial class ExecArguments
{
    /// <summary>The server's bound on an execution's stdin (UTF-8 bytes).</summary>
    public const int MaxStdinBytes = 1024 * 1024;

    /// <summary>The server's bound on <c>timeout_ms</c> (24 hours), which is also its default.</summary>
    public const long MaxTimeoutMs = 86_400_000;

    private const string Example = "`dedalus machines exec <machine_id> -- uname -a`";

    /// <summary>
    /// The machine id and the command from the words no option took. <paramref name="doubleDashAt"/> is the index of the
    /// first word that came after <c>--</c> (<c>words.Count</c> when every word came before it, <see langword="null"/> when
    /// there was no <c>--</c>). Without <c>--machine-id</c>, the first word is the machine id. Words before <c>--</c> that
    /// look like options are options dedalus does not know (System.CommandLine leaves them to the argument).
    /// </summary>
    public static (string MachineId, string[] Command) Split(string? machineIdOption, IReadOnlyList<string> words, int? doubleDashAt)
    {
        var split = doubleDashAt ?? words.Count;
        var before = words.Take(split).ToList();
        var after = words.Skip(split).ToList();
        // Before --, only the machine id may stand; without --, the command's first word is checked too (as with
        // `dedalus ssh`): the words after it are the command's own (`ls -la`).
        var checkedWords = doubleDashAt is not null ? before.Count : Math.Min(before.Count, machineIdOption is null ? 2 : 1);
        if (before.Take(checkedWords).FirstOrDefault(w => w.Length > 1 && w[0] == '-') is { } unknown)
        {
            throw Usage($"unknown option '{unknown}': see `dedalus machines exec --help`, and put the command after --, as in {Example}");
        }

        string text;
        if (machineIdOption is not null)
        {
            text = machineIdOption;
        }
        else if (before.Count > 0)
        {
            text = before[0];
            before.RemoveAt(0);
        }
        else
        {
            throw Usage($"missing machine id: pass it first or with --machine-id, as in {Example}");
        }

        if (!MachineIdInput.TryParseIdOrName(text, out var machineId, out var problem))
        {
            throw Usage(MachineIdInput.Error(text, problem));
        }

        if (doubleDashAt is not null && before.Count > 0)
        {
            throw Usage($"unexpected '{before[0]}' before --: the machine id is given once, and the command goes after --, as in {Example}");
        }

        var command = before.Concat(after).ToArray();
        return command.Length == 0
            ? throw Usage($"missing command: put it after --, as in {Example}")
            : (machineId, command);
    }

    /// <summary>
    /// The <c>--env</c> values as the request's <c>env</c>: <c>NAME=VALUE</c>, or <c>NAME</c> alone for the value dedalus
    /// itself has in its environment. A name given twice keeps its last value.
    /// </summary>
    public static Dictionary<string, string?>? ParseEnv(IReadOnlyList<string>? values, Func<string, string?> environment)
    {
        if (values is null || values.Count == 0)
        {
            return null;
        }

        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? value : value[..equals];
            if (!EnvName().IsMatch(name))
            {
                throw Usage($"--env '{Shown(value)}': a variable name is letters, digits and '_', not starting with a digit (--env NAME=VALUE, or --env NAME to pass dedalus's own)");
            }

            env[name] = equals >= 0
                ? value[(equals + 1)..]
                : environment(name) ?? throw Usage($"--env {name}: {name} is not set in dedalus's environment; give a value with --env {name}=VALUE");
        }

        return env;
    }

    /// <summary>
    /// <c>--timeout</c> in milliseconds: a number with units (<c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>, <c>d</c>), several
    /// combined (<c>1h30m</c>), or a bare number of seconds; 1 ms to 24 h.
    /// </summary>
    public static long ParseTimeoutMs(string text)
    {
        var trimmed = text.Trim();
        double ms = 0;
        if (double.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            ms = seconds * 1000;
        }
        else
        {
            var parts = DurationPart().Matches(trimmed);
            if (parts.Count == 0 || parts.Sum(p => p.Length) != trimmed.Length)
            {
                throw Usage($"--timeout '{Shown(text)}' is not a duration: write 30s, 5m, 1h30m, 500ms or a number of seconds");
            }

            foreach (Match part in parts)
            {
                var value = double.Parse(part.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
                ms += value * part.Groups[2].Value switch
                {
                    "ms" => 1,
                    "s" => 1000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    _ => 86_400_000,
                };
            }
        }

        var rounded = Math.Round(ms);
        return rounded is >= 1 and <= MaxTimeoutMs
            ? (long)rounded
            : throw Usage($"--timeout {Shown(text)} is out of range: from 1ms to 24h");
    }

    /// <summary>
    /// The stdin text from what was read (<paramref name="length"/> bytes; a read of more than
    /// <see cref="MaxStdinBytes"/> means there was more): UTF-8 text of at most 1 MiB, as the contract carries it.
    /// </summary>
    public static string DecodeStdin(byte[] bytes, int length, string source)
    {
        if (length > MaxStdinBytes)
        {
            throw Usage(
                $"{source} has more than 1 MiB, the most an execution's stdin may carry: copy large input to the machine " +
                "(scp or rsync, see `dedalus ssh-config --help`) and read it from a file there");
        }

        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes, 0, length);
        }
        catch (DecoderFallbackException)
        {
            throw Usage($"{source} is not UTF-8 text, which is all an execution's stdin can carry: copy binary input to the machine (scp or rsync) instead");
        }
    }

    private static CliException Usage(string message) => new(message, ExitCodes.Usage);

    private static string Shown(string text) => text.Length > 64 ? text[..64] + "..." : text;

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvName();

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|s|m|h|d)", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPart();
}
