namespace Dedalus.Cli.Tests;

/// <summary><c>dedalus ssh</c> without a machine id when there is no terminal to pick on: a usage error, nothing sent.</summary>
public sealed class CliSshPickerTests : IDisposable
{
    private readonly CliProgram _cli = new();

    public CliSshPickerTests()
    {
        // A server that is not there: the usage error must come before any request.
        _cli.Environment["DEDALUS_BASE_URL"] = "http://127.0.0.1:9";
        _cli.Environment["DEDALUS_API_KEY"] = "dk_unused";
    }

    public void Dispose() => _cli.Dispose();

    [Theory]
    [InlineData("")]
    [InlineData("-- uname -a")]
    [InlineData("--timing")]
    public async Task Without_a_machine_id_and_no_terminal_it_is_a_one_line_usage_error(string rest)
    {
        var result = await _cli.RunAsync(["ssh", .. rest.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal(string.Empty, result.StandardOutput);
        CliErrorTests.AssertOneLine(result.StandardError, "dedalus: missing <machine_id>: see `dedalus ssh --help` (without one, dedalus ssh lets you pick a machine, but only when stdin and stderr are terminals)");
        Assert.Empty(_cli.Leftovers());
    }
}
