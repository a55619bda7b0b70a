using Microsoft.AspNetCore.Builder;

namespace Dedalus.Cli.Tests;

/// <summary>Every failure is one line on stderr with the documented exit code.</summary>
public sealed class CliErrorTests(FakeMachinesFixture fixture) : IClassFixture<FakeMachinesFixture>, IDisposable
{
    private readonly CliProgram _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task A_wrong_api_key_exits_10_with_one_line()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = "wrong";

        var result = await _cli.RunAsync("ssh", Samples.MachineId, "--", "true");

        Assert.Equal(10, result.ExitCode);
        AssertOneLine(result.StandardError, "API key is not valid (HTTP 401 AUTH_INVALID): check DEDALUS_API_KEY");
        Assert.Empty(_cli.Leftovers());
    }

    [Fact]
    public async Task No_api_key_at_all_names_the_variable_to_set()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString();

        var result = await _cli.RunAsync("machines", "list");

        Assert.Equal(10, result.ExitCode);
        AssertOneLine(result.StandardError, "dedalus: no API key: set DEDALUS_API_KEY or pass --api-key");
    }

    [Fact]
    public async Task An_unknown_machine_exits_11()
    {
        var result = await _cli.RunAsync("--base-url", fixture.Fake.Api.BaseUrl.ToString(), "--api-key", FakeMachinesApi.GoodKey, "ssh", "dm-00000000-0000-4000-8000-000000000000");

        Assert.Equal(11, result.ExitCode);
        AssertOneLine(result.StandardError, "not found (HTTP 404 NOT_FOUND): check the id with `dedalus machines list`");
    }

    [Theory]
    [InlineData(NotFoundResources.Machine, "no resource at this session", "check the id with `dedalus machines list`")]
    [InlineData(NotFoundResources.SshSession, "gone", "check the session id with `dedalus machines ssh list --machine-id <id>`")]
    [InlineData(NotFoundResources.Path, "nothing here", "is this a Dedalus server? check DEDALUS_BASE_URL or --base-url")]
    [InlineData(null, "not found", "check the id with `dedalus machines list`")]
    public async Task A_404_hint_follows_the_resource_the_server_names_not_its_message(string? resource, string message, string hint)
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}", () =>
            StubApi.Error(404, ErrorCodes.NotFound, message, resource: resource)));

        var result = await _cli.RunAsync("--base-url", api.BaseUrl.ToString(), "--api-key", "k", "machines", "retrieve", "--machine-id", Samples.MachineId);

        Assert.Equal(11, result.ExitCode);
        AssertOneLine(result.StandardError, $"dedalus: {message} (HTTP 404 NOT_FOUND): {hint}");
    }

    [Fact]
    public async Task A_server_that_is_down_exits_15()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = $"http://127.0.0.1:{Dedalus.Testing.FreePort.Next()}";
        _cli.Environment["DEDALUS_API_KEY"] = "k";

        var result = await _cli.RunAsync("machines", "retrieve", "--machine-id", Samples.MachineId);

        Assert.Equal(15, result.ExitCode);
        AssertOneLine(result.StandardError, "cannot reach http://127.0.0.1:");
    }

    [Theory]
    [InlineData("machines", "retrieve")]
    [InlineData("ssh", "dm-not-a-machine")]
    [InlineData("machines", "create", "--vcpu", "lots")]
    [InlineData("machines", "create", "--egress", "closed")]
    [InlineData("machines", "update", "web-1")]
    [InlineData("nonsense")]
    public async Task Usage_errors_exit_2(params string[] arguments)
    {
        _cli.Environment["DEDALUS_API_KEY"] = "k";

        var result = await _cli.RunAsync(arguments);

        Assert.Equal(2, result.ExitCode);
        AssertOneLine(result.StandardError, "dedalus: ");
    }

    [Fact]
    public async Task The_dev_credentials_file_is_used_when_the_environment_is_empty()
    {
        var file = Path.Combine(_cli.HomePath, ".config", "dedalus", "dev.env");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, $"DEDALUS_BASE_URL={fixture.Fake.Api.BaseUrl}\nDEDALUS_API_KEY={FakeMachinesApi.GoodKey}\nDEDALUS_ORG_ID=org-dev\n");

        var result = await _cli.RunAsync("machines", "retrieve", "--machine-id", Samples.MachineId, "--format", "raw");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("{\"machine_id\":\"" + Samples.MachineId + "\"", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_and_exits_0()
    {
        var result = await _cli.RunAsync("--version");

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", result.StandardOutput);
    }

    internal static void AssertOneLine(string stderr, string expected)
    {
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.EndsWith("\n", stderr, StringComparison.Ordinal);
        Assert.Equal(1, stderr.Count(c => c == '\n'));
    }
}
