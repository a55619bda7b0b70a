using System.Text;
using Dedalus.Cli.Commands;

namespace Dedalus.Cli.Tests;

/// <summary>How <c>dedalus machines exec</c> reads its command line: pure, no process, no server.</summary>
public sealed class ExecArgumentsTests
{
    private const string Id = Samples.MachineId;

    [Theory]
    [InlineData(null, new[] { Id, "uname", "-a" }, 1)] // exec ID -- uname -a
    [InlineData(null, new[] { Id, "uname", "-a" }, null)] // exec ID uname -a
    [InlineData(Id, new[] { "uname", "-a" }, 0)] // exec --machine-id ID -- uname -a
    [InlineData(Id, new[] { "uname", "-a" }, null)] // exec --machine-id ID uname -a
    public void The_machine_id_comes_first_or_from_its_option_and_the_rest_is_the_argv(string? option, string[] words, int? doubleDashAt)
    {
        var (machineId, command) = ExecArguments.Split(option, words, doubleDashAt);

        Assert.Equal(Id, machineId);
        Assert.Equal(["uname", "-a"], command);
    }

    [Fact]
    public void Words_after_the_double_dash_are_kept_exactly_even_when_they_look_like_options()
    {
        string[] argv = ["sh", "-c", "printf '%s\\n' \"$@\"", "--cwd", "a b", "'quoted'", "two\nlines", "--", ""];

        var (_, command) = ExecArguments.Split(null, [Id.ToUpperInvariant(), .. argv], 1);

        Assert.Equal(argv, command);
    }

    [Fact]
    public void The_machine_id_is_canonical_whatever_its_form()
    {
        Assert.Equal(Id, ExecArguments.Split(null, [" " + Id[3..].ToUpperInvariant() + " ", "true"], 1).MachineId);
    }

    [Theory]
    [InlineData(null, new string[0], null, "missing machine id")]
    [InlineData(null, new[] { Id }, 1, "missing command: put it after --")]
    [InlineData(Id, new string[0], 0, "missing command")]
    [InlineData(null, new[] { "dm-nope", "true" }, 1, "'dm-nope' is not a machine id or name")]
    [InlineData(null, new[] { Id, "-x", "true" }, 2, "unknown option '-x'")]
    [InlineData(null, new[] { "--cdw", "/tmp", Id, "true" }, 3, "unknown option '--cdw'")]
    [InlineData(null, new[] { Id, "--cdw", "/tmp" }, null, "unknown option '--cdw'")]
    [InlineData(Id, new[] { "-x", "true" }, null, "unknown option '-x'")]
    [InlineData(Id, new[] { Id, "true" }, 1, "unexpected '" + Id + "' before --")]
    [InlineData(null, new[] { Id, "ls", "true" }, 2, "unexpected 'ls' before --")]
    public void Mistakes_are_usage_errors_that_say_what_to_write(string? option, string[] words, int? doubleDashAt, string expected)
    {
        var error = Assert.Throws<CliException>(() => ExecArguments.Split(option, words, doubleDashAt));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_of_the_command_after_its_first_word_are_its_own_without_a_double_dash()
    {
        Assert.Equal(["ls", "-la", "--color"], ExecArguments.Split(null, [Id, "ls", "-la", "--color"], null).Command);
    }

    [Fact]
    public void Env_takes_name_equals_value_or_the_value_dedalus_has_and_the_last_one_wins()
    {
        var env = ExecArguments.ParseEnv(["A=1", "B=x=y", "EMPTY=", "HOME_DIR", "A=2"], name => name == "HOME_DIR" ? "/home/me" : null);

        Assert.Equal(new Dictionary<string, string?> { ["A"] = "2", ["B"] = "x=y", ["EMPTY"] = "", ["HOME_DIR"] = "/home/me" }, env);
        Assert.Null(ExecArguments.ParseEnv([], _ => null));
    }

    [Theory]
    [InlineData("1A=2", "a variable name is letters, digits and '_'")]
    [InlineData("A-B=2", "a variable name")]
    [InlineData("=x", "a variable name")]
    [InlineData("UNSET_HERE", "UNSET_HERE is not set in dedalus's environment")]
    public void Bad_env_values_are_usage_errors(string value, string expected)
    {
        var error = Assert.Throws<CliException>(() => ExecArguments.ParseEnv([value], _ => null));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("500ms", 500)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2", 2_000)]
    [InlineData("0.25", 250)]
    [InlineData("1d", 86_400_000)]
    [InlineData("24h", 86_400_000)]
    [InlineData("1ms", 1)]
    public void Timeouts_are_durations_in_units_or_seconds(string text, long expected)
    {
        Assert.Equal(expected, ExecArguments.ParseTimeoutMs(text));
    }

    [Theory]
    [InlineData("0", "out of range")]
    [InlineData("0s", "out of range")]
    [InlineData("24h1ms", "out of range")]
    [InlineData("2d", "out of range")]
    [InlineData("soon", "is not a duration")]
    [InlineData("5 m", "is not a duration")]
    [InlineData("-5s", "is not a duration")]
    [InlineData("5mins", "is not a duration")]
    [InlineData("", "is not a duration")]
    public void Bad_timeouts_are_usage_errors(string text, string expected)
    {
        var error = Assert.Throws<CliException>(() => ExecArguments.ParseTimeoutMs(text));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stdin_is_utf8_text_up_to_one_mebibyte()
    {
        var exactly = new byte[ExecArguments.MaxStdinBytes + 1];
        Array.Fill(exactly, (byte)'a');
        var text = Encoding.UTF8.GetBytes("h\u00e9llo\n");

        Assert.Equal("h\u00e9llo\n", ExecArguments.DecodeStdin(text, text.Length, "stdin"));
        Assert.Equal(ExecArguments.MaxStdinBytes, ExecArguments.DecodeStdin(exactly, ExecArguments.MaxStdinBytes, "stdin").Length);
        var tooMuch = Assert.Throws<CliException>(() => ExecArguments.DecodeStdin(exactly, exactly.Length, "stdin"));
        Assert.Contains("stdin has more than 1 MiB", tooMuch.Message, StringComparison.Ordinal);
        var binary = Assert.Throws<CliException>(() => ExecArguments.DecodeStdin([0xff, 0xfe, 0x00], 3, "--stdin-file 'x'"));
        Assert.Contains("is not UTF-8 text", binary.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, binary.ExitCode);
    }

    [Theory]
    [InlineData("http://h/v1/machines/m/executions/e/events?cursor=c&wait_ms=20000", 20_000)]
    [InlineData("http://h/v1/machines/m/executions/e/events?wait_ms=500", 500)]
    [InlineData("http://h/v1/machines/m/executions/e/events?cursor=c", 0)]
    [InlineData("http://h/v1/machines", 0)]
    public void The_slow_answer_notice_waits_out_a_long_poll(string uri, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), SlowAnswerNotice.LongPoll(new Uri(uri)));
    }
}
