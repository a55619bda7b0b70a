namespace Dedalus.Cli.Tests;

/// <summary>Output formats and <c>ssh-config --install</c>, against the stand-in API.</summary>
public sealed class CliOutputTests(FakeMachinesFixture fixture) : IClassFixture<FakeMachinesFixture>, IDisposable
{
    private readonly CliProgram _cli = new();

    public void Dispose() => _cli.Dispose();

    [Theory]
    [InlineData("json", "  \"machine_id\": \"" + Samples.MachineId + "\",")]
    [InlineData("raw", "{\"machine_id\":\"" + Samples.MachineId + "\",")]
    [InlineData("yaml", "machine_id: " + Samples.MachineId + "\n")]
    [InlineData("pretty", "\nstatus.phase  ")]
    public async Task Each_format_renders_a_machine(string format, string expected)
    {
        UseFake();

        var result = await _cli.RunAsync("machines", "retrieve", "--machine-id", Samples.MachineId, "--format", format);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(expected, result.StandardOutput, StringComparison.Ordinal);
        if (format == "pretty")
        {
            // Aligned key/value lines: the padding follows the longest key, whatever fields the contract has.
            Assert.Matches(@"\nstatus\.phase +running\n", result.StandardOutput);
        }

        Assert.DoesNotContain("\\u002B", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_format_is_a_usage_error()
    {
        UseFake();

        var result = await _cli.RunAsync("machines", "retrieve", "--machine-id", Samples.MachineId, "--format", "xml");

        Assert.Equal(2, result.ExitCode);
    }

    [Fact]
    public async Task Ssh_config_install_writes_the_config_and_includes_it_once()
    {
        var ssh = Path.Combine(_cli.HomePath, ".ssh");
        Directory.CreateDirectory(ssh);
        File.WriteAllText(Path.Combine(ssh, "config"), "Host example\n    User me\n");

        var first = await _cli.RunAsync("ssh-config", "--install");
        var second = await _cli.RunAsync("ssh-config", "--install");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        var config = File.ReadAllText(Path.Combine(ssh, "config"));
        Assert.StartsWith("Include dedalus_config\n", config, StringComparison.Ordinal);
        Assert.Single(config.Split('\n'), l => l.Contains("dedalus_config", StringComparison.Ordinal));
        Assert.EndsWith("Host example\n    User me\n", config, StringComparison.Ordinal);
        var dedalusConfig = Path.Combine(ssh, "dedalus_config");
        Assert.Contains("Match originalhost dm-*,????????-????-????-????-???????????? exec", File.ReadAllText(dedalusConfig), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dedalusConfig));
        var parsed = await _cli.RunToolAsync("ssh", "-G", "-F", Path.Combine(ssh, "config"), "example");
        Assert.True(parsed.ExitCode == 0, parsed.ToString());
    }

    private void UseFake()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = FakeMachinesApi.GoodKey;
    }
}
