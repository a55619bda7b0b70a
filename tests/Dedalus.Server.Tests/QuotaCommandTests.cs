using System.Net;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// <c>dedalus-server quota</c> as a real process against the database of a running server: set, show, reset and list,
/// a change that applies to the server's next request without a restart, and bad input refused on one line.
/// </summary>
public sealed class QuotaCommandTests : IDisposable
{
    private static readonly string Program = Path.Combine(AppContext.BaseDirectory, "dedalus-server");
    private readonly TempDirectory _data = new();
    private readonly TempDirectory _home = new();

    public void Dispose()
    {
        _data.Dispose();
        _home.Dispose();
    }

    [Fact]
    public async Task A_quota_set_while_the_server_runs_applies_to_its_next_request_and_reset_gives_the_default_back()
    {
        await using var server = await RunningServer.StartAsync(_data.Path);
        using var acme = await server.NewClientAsync("acme");
        using var globex = await server.NewClientAsync("globex");
        await acme.CreateMachineAsync("""{"vcpu":1,"memory_mib":1024,"storage_gib":10}""");

        var set = await RunAsync("quota", "set", "--data-dir", _data.Path, "--org", "acme", "--machines", "1", "--vcpu", "50%", "--sessions", "unlimited");
        var refused = await acme.PostAsync("/v1/machines", """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""");
        var otherOrg = await globex.PostAsync("/v1/machines", """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""");
        var show = await RunAsync("quota", "show", "--data-dir", _data.Path, "--org", "acme");
        var list = await RunAsync("quota", "list", "--data-dir", _data.Path);
        var reset = await RunAsync("quota", "reset", "--data-dir", _data.Path, "--org", "acme", "--machines", "--vcpu");
        var accepted = await acme.PostAsync("/v1/machines", """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""");

        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Matches(@"(?m)^org acme \(org-[0-9a-f-]+\)$", set.StandardOutput);
        Assert.Matches(@"(?m)^machines +1 +1 +org: 1$", set.StandardOutput);
        Assert.Matches(@"(?m)^sessions +unlimited +0 +org: unlimited$", set.StandardOutput);
        QuotaTests.AssertRefused(refused, HttpStatusCode.Conflict, "machines", "1", "1", "1");
        Assert.Equal(HttpStatusCode.OK, otherOrg.Status);

        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Matches(@"(?m)^machines +1 +1 +org: 1$", show.StandardOutput);
        Assert.Matches(@"(?m)^vcpu +[0-9.]+ +1 +org: 50% of [0-9.]+ CPUs$", show.StandardOutput);
        Assert.Matches(@"(?m)^memory_mib +unlimited +1024 +default: unlimited$", show.StandardOutput);
        Assert.Matches(@"(?m)^host storage: 20 GiB committed to machines of every org, of \d+ GiB the host can back \(.+ GiB free plus 0 GiB held by machine images, overcommit 100\)$", show.StandardOutput);

        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Matches(@"(?m)^defaults: machines 10% \(10\), vcpu unlimited, memory_mib unlimited, storage_gib 50% \(\d+\), sessions 1000, executions 100$", list.StandardOutput);
        Assert.Matches(@"(?m)^ORG +MACHINES +VCPU +MEMORY_MIB +STORAGE_GIB +SESSIONS +EXECUTIONS$", list.StandardOutput);
        Assert.Matches(@"(?m)^acme +1/1\* +1/[0-9.]+\* +1024/unlimited +10/\d+ +0/unlimited\* +0/100$", list.StandardOutput);
        Assert.Matches(@"(?m)^globex +1/10 +1/unlimited +1024/unlimited +10/\d+ +0/1000 +0/100$", list.StandardOutput);

        Assert.True(reset.ExitCode == 0, reset.ToString());
        Assert.Matches(@"(?m)^machines +10 +1 +default: 10% of 100 gateway ports$", reset.StandardOutput);
        Assert.Matches(@"(?m)^vcpu +unlimited +1 +default: unlimited$", reset.StandardOutput);
        Assert.Matches(@"(?m)^sessions +unlimited +0 +org: unlimited$", reset.StandardOutput);
        Assert.Equal(HttpStatusCode.OK, accepted.Status);
    }

    [Fact]
    public async Task Reset_without_a_quota_named_gives_the_org_every_default_back()
    {
        await using (var server = await RunningServer.StartAsync(_data.Path))
        {
            (await server.NewClientAsync("acme")).Dispose();
        }

        await RunAsync("quota", "set", "--data-dir", _data.Path, "--org", "acme", "--machines", "3", "--storage-gib", "7");
        var reset = await RunAsync("quota", "reset", "--data-dir", _data.Path, "--org", "acme");

        Assert.True(reset.ExitCode == 0, reset.ToString());
        Assert.DoesNotContain("org: ", reset.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--machines must be a whole number (0 or more), a percentage of the gateway port range such as 25%, or unlimited, not '-1'", "quota set", "set", "--org", "acme", "--machines", "-1")]
    [InlineData("--sessions must be a whole number (0 or more) or unlimited, not '10%'", "quota set", "set", "--org", "acme", "--sessions", "10%")]
    [InlineData("--vcpu must be a multiple of 0.25 (0 or more)", "quota set", "set", "--org", "acme", "--machines", "2", "--vcpu", "0.3")]
    [InlineData("nothing to set: give one or more of --machines, --vcpu, --memory-mib, --storage-gib, --sessions", "quota set", "set", "--org", "acme")]
    [InlineData("no org named 'nobody'", "quota show", "show", "--org", "nobody")]
    [InlineData("no org named 'nobody'", "quota set", "set", "--org", "nobody", "--machines", "2")]
    [InlineData("--org", "quota show", "show")]
    [InlineData("'--bogus'", "quota list", "list", "--bogus")]
    public async Task Bad_input_is_one_line_naming_it_exits_2_and_changes_nothing(string named, string help, params string[] arguments)
    {
        await using (var server = await RunningServer.StartAsync(_data.Path))
        {
            (await server.NewClientAsync("acme")).Dispose();
        }

        var result = await RunAsync(["quota", .. arguments, "--data-dir", _data.Path]);
        var show = await RunAsync("quota", "show", "--data-dir", _data.Path, "--org", "acme");

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("dedalus-server: ", line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
        Assert.EndsWith($"see `dedalus-server {help} --help`", line, StringComparison.Ordinal);
        Assert.Empty(result.StandardOutput);
        Assert.DoesNotContain("org: ", show.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_data_directory_without_a_server_database_is_refused_and_left_empty()
    {
        var result = await RunAsync("quota", "list", "--data-dir", _data.Path);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"no server database in {_data.Path}", line, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_data.Path));
    }

    [Fact]
    public async Task Help_names_every_quota_and_the_forms_a_limit_takes()
    {
        var quota = await RunAsync("quota", "--help");
        var set = await RunAsync("quota", "set", "--help");
        var server = await RunAsync("--help");

        Assert.True(quota.ExitCode == 0, quota.ToString());
        foreach (var word in new[] { "set", "reset", "show", "list", "machines", "vcpu", "memory_mib", "storage_gib", "sessions" })
        {
            Assert.Contains(word, quota.StandardOutput, StringComparison.Ordinal);
        }

        foreach (var option in new[] { "--data-dir", "--org", "--machines", "--vcpu", "--memory-mib", "--storage-gib", "--sessions", "unlimited", "25%" })
        {
            Assert.Contains(option, set.StandardOutput, StringComparison.Ordinal);
        }

        foreach (var option in new[] { "--quota-machines", "--quota-vcpu", "--quota-memory-mib", "--quota-storage-gib", "--quota-sessions", "--storage-overcommit", "DEDALUS_QUOTA_MACHINES", "quota" })
        {
            Assert.Contains(option, server.StandardOutput, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Bad_quota_settings_of_the_server_are_reported_at_once_naming_their_source()
    {
        var result = await RunAsync(
            ["--data-dir", _data.Combine("data"), "--quota-machines", "lots", "--storage-overcommit", "0", "--Dedalus:QuotaStorageGib", "-3"],
            new Dictionary<string, string> { ["DEDALUS_QUOTA_SESSIONS"] = "10%" });

        Assert.Equal(2, result.ExitCode);
        foreach (var named in new[]
        {
            "--quota-machines: must be a whole number (0 or more), a percentage of the gateway port range such as 25%, or unlimited, not 'lots'",
            "--storage-overcommit: must be a ratio from 0.01 to 100",
            "DEDALUS_QUOTA_SESSIONS: must be a whole number (0 or more) or unlimited, not '10%'",
            "Dedalus:QuotaStorageGib: must be",
        })
        {
            Assert.Contains("dedalus-server: " + named, result.StandardError, StringComparison.Ordinal);
        }

        Assert.Contains("4 bad settings, nothing was started", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_data.Path));
    }

    private Task<ProcessResult> RunAsync(params string[] arguments) => RunAsync(arguments, null);

    private Task<ProcessResult> RunAsync(string[] arguments, Dictionary<string, string>? environment)
    {
        environment ??= [];
        environment["HOME"] = _home.Path;
        environment["XDG_DATA_HOME"] = _home.Path;
        environment["XDG_CONFIG_HOME"] = _home.Path;
        return ProcessRunner.RunAsync(Program, arguments, environment: environment, timeout: TimeSpan.FromSeconds(60));
    }
}
