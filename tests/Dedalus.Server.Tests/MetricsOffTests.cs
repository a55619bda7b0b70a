using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

/// <summary><c>--metrics false</c>: no endpoint at all.</summary>
public sealed class MetricsOffTests : ServerTestBase
{
    protected override Task<RunningServer> StartServerAsync(string dataDirectory) =>
        RunningServer.StartAsync(dataDirectory, extraArgs: ["--metrics", "false"]);

    [Fact]
    public async Task With_metrics_off_the_path_is_a_missing_path_and_the_api_works()
    {
        var response = await Api.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.Equal(ErrorCodes.NotFound, response.Error().ErrorCode);
        await Api.CreateMachineAsync();
    }
}
