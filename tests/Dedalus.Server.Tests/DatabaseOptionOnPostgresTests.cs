using Dedalus.Server.Hosting;
using Dedalus.Server.Store.Sqlite;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Dedalus.Testing.Postgres;

namespace Dedalus.Server.Tests;

/// <summary><c>--database</c> with a real PostgreSQL: the server and the admin commands on it, and an unreachable database at start.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DatabaseOptionOnPostgresTests(PostgresFixture postgres) : IDisposable
{
    private readonly TempDirectory _home = new();
    private readonly TempDirectory _data = new();

    public void Dispose()
    {
        _home.Dispose();
        _data.Dispose();
    }

    [Fact]
    public async Task An_unreachable_database_at_start_is_one_line_naming_where_it_is_without_the_password_and_exit_1()
    {
        var port = FreePort.Next();

        var result = await ServerProgram.RunAsync(_home, "--data-dir", _data.Path, "--database", $"postgres://dedalus:hunter2@127.0.0.1:{port}/control");

        Assert.Equal(ServerCommand.ExitFailure, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("dedalus-server: cannot reach the database", line, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}/control", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.StandardError + result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apikey_and_quota_work_on_the_servers_postgres_database_without_a_database_in_the_data_directory()
    {
        var url = postgres.Server.ConnectionUrl(PostgresServer.DatabaseOf(await postgres.Server.CreateDatabaseAsync()));
        await using (var server = await RunningServer.StartAsync(_data.Path, database: url))
        {
            Assert.False(File.Exists(SqliteStore.DatabasePath(server.DataDirectory)));
        }

        var empty = _home.Combine("elsewhere");
        Directory.CreateDirectory(empty);
        var key = await ServerProgram.RunAsync(_home, "apikey", "create", "--data-dir", empty, "--database", url, "--org", "acme");
        var set = await ServerProgram.RunAsync(_home, "quota", "set", "--data-dir", empty, "--database", url, "--org", "acme", "--machines", "3");
        var list = await ServerProgram.RunAsync(_home, "quota", "list", "--data-dir", empty, "--database", url);

        Assert.True(key.ExitCode == 0, key.ToString());
        Assert.StartsWith("dk_", key.StandardOutput.Trim(), StringComparison.Ordinal);
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Matches(@"(?m)^machines +3 +0 +org: 3$", set.StandardOutput);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Matches(@"(?m)^acme +0/3\*", list.StandardOutput);
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty));
    }
}
