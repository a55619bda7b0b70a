using Dedalus.Server.Hosting;
using Dedalus.Testing;
using Microsoft.Extensions.Configuration;

namespace Dedalus.Server.Tests;

/// <summary><c>dedalus-server</c> as a command: help, version, usage errors, and a configuration checked whole before anything is created.</summary>
public sealed class ServerCommandTests : IDisposable
{
    private static readonly string Program = Path.Combine(AppContext.BaseDirectory, "dedalus-server");
    private readonly TempDirectory _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Help_prints_the_usage_with_every_option_and_exits_0_without_creating_anything()
    {
        var dataDirectory = _home.Combine("data");

        var result = await RunAsync(["--help"]);
        var withDataDirectory = await RunAsync(["--data-dir", dataDirectory, "--help"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var option in new[] { "--data-dir", "--listen", "--gateway-host", "--gateway-ports", "--gateway-bind", "--gateway", "--host-pattern", "--runtime", "--session-ttl", "--max-vcpu", "--dev", "--urls", "--version", "apikey", "DEDALUS_DATA_DIR", "Exit codes", "--machine-network", "--egress-allow", "--egress-deny-default", "--dns-upstream", "--machine-uids" })
        {
            Assert.Contains(option, result.StandardOutput, StringComparison.Ordinal);
        }

        Assert.Equal(0, withDataDirectory.ExitCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_home.Path));
    }

    [Fact]
    public async Task Version_prints_a_version_and_exits_0()
    {
        var result = await RunAsync(["--version"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^\d+\.\d+\.\d+", result.StandardOutput.Trim());
    }

    [Theory]
    [InlineData("--bogus", "'--bogus'")]
    [InlineData("serve", "'serve'")]
    [InlineData("--Dedalus:SweepInterval", "--Dedalus:SweepInterval needs a value")]
    public async Task A_usage_error_is_one_line_naming_it_and_exits_2(string argument, string named)
    {
        var result = await RunAsync([argument]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("dedalus-server: ", line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
        Assert.Contains("dedalus-server --help", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_bad_value_is_reported_at_once_naming_its_source_and_nothing_is_created()
    {
        var dataDirectory = _home.Combine("data");

        var result = await RunAsync(
            ["--data-dir", dataDirectory, "--gateway-ports", "9-1", "--session-ttl", "5s", "--listen", "nope", "--gateway-bind", "x", "--max-vcpu", "0.3",
             "--Dedalus:SweepInterval", "nonsense", "--Dedalus:Typo", "1"],
            new Dictionary<string, string> { ["DEDALUS_GATEWAY_HOST"] = "bad host,also bad" });

        Assert.Equal(2, result.ExitCode);
        foreach (var named in new[] { "--gateway-ports: ", "--session-ttl: ", "--listen: ", "--gateway-bind: ", "--max-vcpu: ", "DEDALUS_GATEWAY_HOST: ", "Dedalus:SweepInterval: ", "Dedalus:Typo: unknown setting" })
        {
            Assert.Contains("dedalus-server: " + named, result.StandardError, StringComparison.Ordinal);
        }

        Assert.Contains("8 bad settings, nothing was started", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_home.Path));
    }

    [Fact]
    public async Task The_machine_network_settings_are_checked_naming_each_bad_value()
    {
        var result = await RunAsync(
            ["--data-dir", _home.Combine("data"), "--machine-network", "10.207.0.1/16", "--egress-allow", "10.0.0.0/8,nope", "--dns-upstream", "resolver"],
            new Dictionary<string, string> { ["DEDALUS_EGRESS_DENY_DEFAULT"] = "fc00::/7,999.0.0.0/8" });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(
            "dedalus-server: --machine-network: must be an IPv4 subnet from /8 to /28 with its host bits zero, such as 10.207.0.0/16, or off, not '10.207.0.1/16'",
            result.StandardError, StringComparison.Ordinal);
        Assert.Contains("dedalus-server: --egress-allow: must be a comma-separated list of CIDRs", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("dedalus-server: DEDALUS_EGRESS_DENY_DEFAULT: must be a comma-separated list of CIDRs", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("dedalus-server: --dns-upstream: must be a comma-separated list of IP addresses", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("4 bad settings, nothing was started", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_home.Path));
    }

    [Fact]
    public async Task The_machine_uid_pool_is_checked_and_shared_keeps_every_machine_in_one_range()
    {
        var result = await RunAsync(
            ["--data-dir", _home.Combine("data"), "--machine-uids", "100000-165535"],
            new Dictionary<string, string> { ["DEDALUS_MACHINE_UIDS"] = "1073741824-1073741825" });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(
            "dedalus-server: --machine-uids: must be FIRST-LAST, host uids with FIRST a multiple of 65536 from 262144 and LAST at most 2147483647, " +
            "holding at least 65536, such as 1073741824-1610612735, or shared, not '100000-165535'",
            result.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_home.Path));

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dedalus:DataDirectory"] = _home.Combine("data"),
            ["Dedalus:MachineUids"] = "shared",
        }).Build();
        var (shared, errors) = ServerConfiguration.Read(configuration);
        Assert.Empty(errors);
        Assert.Null(shared.MachineUids);
        Assert.Equal(Dedalus.Machines.Runc.MachineUidPool.Default, ServerConfiguration.Read(new ConfigurationBuilder().Build()).Options.MachineUids);
    }

    [Theory]
    [InlineData("2001:db8::/64")]
    [InlineData("10.0.0.0/30")]
    [InlineData("10.0.0.0/7")]
    public async Task A_machine_network_that_is_not_ipv4_between_8_and_28_bits_is_refused(string subnet)
    {
        var result = await RunAsync(["--data-dir", _home.Combine("data"), "--machine-network", subnet]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"dedalus-server: --machine-network: must be an IPv4 subnet from /8 to /28", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gateway_port_retry_settings_are_checked_like_every_other()
    {
        var result = await RunAsync(["--data-dir", _home.Combine("data"), "--Dedalus:GatewayPortAttempts", "0", "--Dedalus:GatewayPortRetryDelay", "00:00:00"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("dedalus-server: Dedalus:GatewayPortAttempts: must be a whole number from 1 to 1000, not '0'", result.StandardError, StringComparison.Ordinal);
        Assert.Contains(
            "dedalus-server: Dedalus:GatewayPortRetryDelay: must be a time span from 00:00:00.010 to 00:05:00, not '00:00:00'", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_home.Path));
    }

    [Theory]
    [InlineData("4m")]
    [InlineData("25h")]
    [InlineData("00:04:59")]
    [InlineData("never")]
    [InlineData("half an hour")]
    public async Task A_host_certificate_lifetime_outside_5_minutes_to_24_hours_is_a_start_up_error(string lifetime)
    {
        var result = await RunAsync(["--data-dir", _home.Combine("data"), "--Dedalus:HostCertificateLifetime", lifetime]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(
            $"dedalus-server: Dedalus:HostCertificateLifetime: must be a duration from 5 min to 24 h, such as 30m, 2h or 00:30:00, not '{lifetime}'",
            result.StandardError,
            StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_home.Path));
    }

    [Fact]
    public async Task The_connection_audit_bounds_are_checked_like_every_other()
    {
        var result = await RunAsync(["--data-dir", _home.Combine("data"), "--Dedalus:ConnectionAuditRetention", "00:59:59", "--Dedalus:ConnectionAuditPerMachine", "0"]);
        var unparsable = await RunAsync(["--data-dir", _home.Combine("data"), "--Dedalus:ConnectionAuditRetention", "a month", "--Dedalus:ConnectionAuditPerMachine", "1000001"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(
            "dedalus-server: Dedalus:ConnectionAuditRetention: must be a time span from 01:00:00 to 3650.00:00:00, not '00:59:59'", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("dedalus-server: Dedalus:ConnectionAuditPerMachine: must be a whole number from 1 to 1000000, not '0'", result.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, unparsable.ExitCode);
        Assert.Contains("dedalus-server: Dedalus:ConnectionAuditRetention: must be a time span from 01:00:00 to 3650.00:00:00, not 'a month'", unparsable.StandardError, StringComparison.Ordinal);
        Assert.Contains("dedalus-server: Dedalus:ConnectionAuditPerMachine: must be a whole number from 1 to 1000000, not '1000001'", unparsable.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_home.Path));
    }

    [Fact]
    public async Task A_data_directory_the_machines_mapped_root_cannot_reach_is_a_start_up_error_with_the_fix()
    {
        File.SetUnixFileMode(_home.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute);
        var closed = _home.Combine("closed");
        Directory.CreateDirectory(closed);
        File.SetUnixFileMode(closed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var result = await RunAsync(["--data-dir", Path.Combine(closed, "data")]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{closed} (mode 0700) does not let the machines' roots (unprivileged host uids such as 100000) through", result.StandardError, StringComparison.Ordinal);
        Assert.Contains($"chmod o+x {closed}", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(closed));
    }

    private Task<ProcessResult> RunAsync(string[] arguments, Dictionary<string, string>? environment = null)
    {
        environment ??= [];
        environment["HOME"] = _home.Path;
        environment["XDG_DATA_HOME"] = _home.Path;
        environment["XDG_CONFIG_HOME"] = _home.Path;
        return ProcessRunner.RunAsync(Program, arguments, environment: environment, timeout: TimeSpan.FromSeconds(60));
    }
}
