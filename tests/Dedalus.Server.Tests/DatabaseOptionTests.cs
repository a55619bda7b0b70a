using System.Data.Common;
using Dedalus.Server.Hosting;
using Dedalus.Server.Store.Sqlite;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// <c>--database</c> (<c>DEDALUS_DATABASE</c>): the forms it takes, the explicit SQLite default, and bad values refused at
/// start-up naming the option without ever repeating a password. The PostgreSQL side is in <see cref="DatabaseOptionOnPostgresTests"/>.
/// </summary>
public sealed class DatabaseOptionTests : IDisposable
{
    private readonly TempDirectory _home = new();
    private readonly TempDirectory _data = new();

    public void Dispose()
    {
        _home.Dispose();
        _data.Dispose();
    }

    [Theory]
    [InlineData("postgres://dedalus:s3cr%3Bt@db.internal:6432/control?sslmode=require", "db.internal", "6432", "control", "dedalus", "s3cr;t")]
    [InlineData("postgresql://dedalus@127.0.0.1/dedalus", "127.0.0.1", null, "dedalus", "dedalus", null)]
    [InlineData("postgres://[::1]:5433/x", "::1", "5433", "x", null, null)]
    [InlineData("Host=db.internal;Port=6432;Database=control;Username=dedalus;Password='a;b'", "db.internal", "6432", "control", "dedalus", "a;b")]
    public void A_url_or_key_value_string_becomes_the_connection_string_of_the_same_database(
        string text, string host, string? port, string database, string? user, string? password)
    {
        Assert.True(StoreFactory.TryParse(text, out var connectionString, out var problem), problem);

        var parsed = new DbConnectionStringBuilder { ConnectionString = connectionString };
        Assert.Equal(host, parsed["Host"]?.ToString());
        Assert.Equal(port, parsed.TryGetValue("Port", out var p) ? p.ToString() : null);
        Assert.Equal(database, parsed["Database"]?.ToString());
        Assert.Equal(user, parsed.TryGetValue("Username", out var u) ? u.ToString() : null);
        Assert.Equal(password, parsed.TryGetValue("Password", out var pw) ? pw.ToString() : null);
        if (text.Contains("sslmode", StringComparison.Ordinal))
        {
            Assert.Equal("require", parsed["SSL Mode"]);
        }
    }

    [Fact]
    public void Sqlite_is_the_explicit_default()
    {
        Assert.True(StoreFactory.TryParse(" SQLite ", out var connectionString, out _));
        Assert.Null(connectionString);
    }

    [Theory]
    [InlineData("mysql://root:hunter2@db/x")]
    [InlineData("postgres://root:hunter2@/x")]
    [InlineData("postgres://root:hunter2@db/x/y")]
    [InlineData("Database=x;Password=hunter2")]
    [InlineData("hunter2")]
    [InlineData("Host=db;Password='hunter2")]
    public async Task A_bad_value_is_a_start_up_error_naming_the_option_never_the_password_and_nothing_is_created(string value)
    {
        var data = _home.Combine("data");

        var result = await ServerProgram.RunAsync(_home, "--data-dir", data, "--database", value);

        Assert.Equal(ServerCommand.ExitUsage, result.ExitCode);
        Assert.Contains("dedalus-server: --database: must be sqlite, a postgres://", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.StandardError + result.StandardOutput, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data));
    }

    [Fact]
    public async Task The_environment_variable_is_named_when_it_gave_the_bad_value()
    {
        var result = await ProcessRunner.RunAsync(
            ServerProgram.Path, ["--data-dir", _home.Combine("data")],
            environment: new Dictionary<string, string> { ["HOME"] = _home.Path, ["DEDALUS_DATABASE"] = "Username=x;Password=hunter2" },
            timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(ServerCommand.ExitUsage, result.ExitCode);
        Assert.Contains("dedalus-server: DEDALUS_DATABASE: must be", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("it names no Host", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_admin_commands_refuse_a_bad_database_on_one_line_without_the_password()
    {
        var apikey = await ServerProgram.RunAsync(_home, "apikey", "create", "--data-dir", _home.Path, "--database", "ftp://u:hunter2@h/x", "--org", "acme");
        var quota = await ServerProgram.RunAsync(_home, "quota", "list", "--data-dir", _home.Path, "--database", "Password=hunter2");

        foreach (var (result, command) in new[] { (apikey, "apikey create"), (quota, "quota list") })
        {
            Assert.Equal(ServerCommand.ExitUsage, result.ExitCode);
            var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("dedalus-server: --database must be", line, StringComparison.Ordinal);
            Assert.EndsWith($"see `dedalus-server {command} --help`", line, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Help_names_the_option_its_variable_and_its_forms()
    {
        var server = await ServerProgram.RunAsync(_home, "--help");
        var quota = await ServerProgram.RunAsync(_home, "quota", "set", "--help");
        var apikey = await ServerProgram.RunAsync(_home, "apikey", "create", "--help");

        Assert.Contains("--database", server.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("DEDALUS_DATABASE", server.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("postgres://", server.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("--database", quota.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("--database", apikey.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_explicit_sqlite_keeps_the_database_in_the_data_directory()
    {
        await using var server = await RunningServer.StartAsync(_data.Path, extraArgs: ["--database", "sqlite"]);
        using var api = await server.NewClientAsync();

        await api.CreateMachineAsync("""{"vcpu":1,"memory_mib":1024,"storage_gib":10}""");

        Assert.True(File.Exists(SqliteStore.DatabasePath(server.DataDirectory)));
        Assert.Null(server.Service<ServerOptions>().Database);
    }
}
