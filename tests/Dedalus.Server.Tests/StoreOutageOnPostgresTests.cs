using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Dedalus.Testing.Postgres;

namespace Dedalus.Server.Tests;

/// <summary>
/// The server on PostgreSQL while PostgreSQL goes away and comes back: requests answer 503 in the envelope, readiness
/// says so, and once the database is back the same server process serves again and its background work goes on.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class StoreOutageOnPostgresTests(PostgresFixture postgres) : ServerTestBase
{
    private readonly PostgresServerTest _postgres = new(postgres);

    protected override Task<string?> DatabaseAsync() => _postgres.DatabaseAsync();

    [Fact]
    public async Task While_the_database_is_down_requests_get_503_and_once_it_is_back_the_same_server_serves_and_reconciles_again()
    {
        var before = await Api.CreateRunningMachineAsync();
        try
        {
            await postgres.Server.StopAsync();

            var list = await Api.GetAsync("/v1/machines");
            var create = await Api.PostAsync("/v1/machines", """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""");
            using var http = new HttpClient { BaseAddress = new Uri(Server.BaseUrl), Timeout = RunningServer.Timeout };
            var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));

            foreach (var response in new[] { list, create })
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.Status);
                var error = response.Error();
                Assert.Equal(ErrorCodes.DependencyUnavailable, error.ErrorCode);
                Assert.True(error.Retryable);
                Assert.Contains("database is unreachable", error.Message, StringComparison.Ordinal);
                Assert.NotNull(response.Headers.RetryAfter);
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }
        finally
        {
            if (!postgres.Server.IsRunning)
            {
                await postgres.Server.StartAgainAsync();
            }
        }

        // The pool's broken connections are replaced: the first requests after the restart may still meet one.
        Assert.True(
            await Eventually.TrueAsync(async () => (await Api.GetAsync("/v1/machines")).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60)),
            "the server did not serve again after PostgreSQL came back");
        var after = await Api.CreateRunningMachineAsync();
        var listed = (await Api.GetAsync("/v1/machines")).MachineList().Items.Select(m => m.MachineId);

        Assert.Equal(MachinePhases.Running, after.Phase);
        Assert.Equal([before.MachineId, after.MachineId], listed);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("The store cannot be reached", StringComparison.Ordinal));
        Assert.DoesNotContain(Server.Logs.Lines, l => l.Contains("Unhandled error", StringComparison.Ordinal));
    }
}
