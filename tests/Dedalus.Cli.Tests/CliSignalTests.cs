using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Cli.Tests;

/// <summary>
/// Every command is stopped by SIGINT, SIGTERM or SIGHUP the same way <c>dedalus ssh</c> is: 128 + the signal's
/// number, and one line on stderr.
/// </summary>
public sealed class CliSignalTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly CliProgram _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Sigint_stops_a_watch_that_never_ends_with_130_and_one_line()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/status/stream", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            var json = JsonSerializer.Serialize(Samples.Machine(phase: MachinePhases.Starting), DedalusJsonContext.Default.Machine);
            await context.Response.WriteAsync($"id: 1\nevent: status\ndata: {json}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }));
        await using var process = _cli.Start("--base-url", api.BaseUrl.ToString(), "--api-key", "k", "machines", "watch", "--machine-id", Samples.MachineId, "--format", "raw");
        using var cts = new CancellationTokenSource(Limit);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        var first = await process.StandardOutput.ReadLineAsync(cts.Token);
        Assert.StartsWith("{\"machine_id\":\"" + Samples.MachineId + "\"", first, StringComparison.Ordinal);

        await process.SignalAsync("INT");
        await process.WaitForExitAsync(Limit);

        Assert.Equal(130, process.ExitCode);
        Assert.Equal("dedalus: cancelled\n", await stderr);
    }

    [Theory]
    [InlineData("TERM", 143)]
    [InlineData("HUP", 129)]
    public async Task A_signal_stops_a_create_that_the_server_never_answers(string signal, int expected)
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var process = _cli.Start(
            "--base-url", $"http://127.0.0.1:{port}", "--api-key", "k", "machines", "create", "--vcpu", "1", "--memory-mib", "1024", "--storage-gib", "2");
        using var cts = new CancellationTokenSource(Limit);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        using var connection = await silent.AcceptTcpClientAsync(cts.Token);

        await process.SignalAsync(signal);
        await process.WaitForExitAsync(Limit);

        Assert.Equal(expected, process.ExitCode);
        Assert.Equal("dedalus: cancelled\n", await stderr);
        Assert.Empty(await process.StandardOutput.ReadToEndAsync(cts.Token));
    }
}
