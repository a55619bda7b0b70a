using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Hosting;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// The server in this process with the runc runtime, for execution tests: machines, executions, waits on their end.
/// Extra server arguments tune it (a short log token lifetime, a low per-machine bound).
/// </summary>
public sealed class ExecutionServer : IAsyncDisposable
{
    public static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);
    private readonly TempDirectory _data;
    private readonly int _low;
    private readonly string[] _arguments;
    private string? _apiKey;

    private ExecutionServer(TempDirectory data, int low, string[] arguments)
    {
        _data = data;
        _low = low;
        _arguments = arguments;
    }

    public WebApplication App { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public string DataDirectory => _data.Path;

    public static async Task<ExecutionServer> StartAsync(string name, params string[] arguments)
    {
        var server = new ExecutionServer(new TempDirectory($"dedalus-{name}-"), FreePort.Range(4), ["--quota-machines", "unlimited", .. arguments]);
        await server.StartAppAsync();
        return server;
    }

    /// <summary>Stops the server process (in this process: the app) and starts it again on the same data directory and key.</summary>
    public async Task RestartAsync(Func<Task>? whileStopped = null)
    {
        await StopAppAsync();
        if (whileStopped is not null)
        {
            await whileStopped();
        }

        await StartAppAsync();
    }

    public Task<string> CreateRunningMachineAsync(string extra = "") =>
        CreateRunningMachineFromAsync($$"""{"vcpu":0.5,"memory_mib":512,"storage_gib":1{{extra}}}""");

    /// <summary>Creates a machine from a whole create body and waits until it runs; returns its id.</summary>
    public async Task<string> CreateRunningMachineFromAsync(string json)
    {
        var created = await Http.SendJsonAsync(HttpMethod.Post, "/v1/machines", json, DedalusJsonContext.Default.Machine);
        await WaitForPhaseAsync(created.MachineId, MachinePhases.Running);
        return created.MachineId;
    }

    public async Task<Machine> WaitForPhaseAsync(string machineId, string phase)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var machine = await Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machineId}", null, DedalusJsonContext.Default.Machine);
            if (machine.Phase == phase)
            {
                return machine;
            }

            Assert.True(clock.Elapsed < Bound, $"machine is {machine.Phase}: {machine.Status.LastError}");
            Assert.NotEqual(MachinePhases.Failed, machine.Phase);
            await Task.Delay(50);
        }
    }

    /// <summary>POSTs an execution; returns the status code and the body (an Execution, or an error envelope).</summary>
    public async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PostAsync(string machineId, string json, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/machines/{machineId}/executions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var response = await Http.SendAsync(request, cts.Token);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cts.Token), response);
    }

    public async Task<Execution> CreateAsync(string machineId, object body)
    {
        var (status, text, _) = await PostAsync(machineId, JsonSerializer.Serialize(body));
        Assert.True(status == HttpStatusCode.OK, $"{(int)status} {text}");
        return JsonSerializer.Deserialize(text, DedalusJsonContext.Default.Execution)!;
    }

    public Task<Execution> GetAsync(string machineId, string executionId) =>
        Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machineId}/executions/{executionId}", null, DedalusJsonContext.Default.Execution);

    /// <summary>Waits (polling, bounded) until the execution has a final status.</summary>
    public async Task<Execution> WaitFinishedAsync(string machineId, string executionId, TimeSpan? bound = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var execution = await GetAsync(machineId, executionId);
            if (ExecutionStatuses.IsFinished(execution.Status))
            {
                return execution;
            }

            Assert.True(clock.Elapsed < (bound ?? Bound), $"execution is still {execution.Status}");
            await Task.Delay(50);
        }
    }

    public async Task<(Execution Execution, ExecutionOutput Output)> RunAsync(string machineId, object body)
    {
        var created = await CreateAsync(machineId, body);
        var finished = await WaitFinishedAsync(machineId, created.ExecutionId);
        var output = await Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machineId}/executions/{created.ExecutionId}/output", null, DedalusJsonContext.Default.ExecutionOutput);
        return (finished, output);
    }

    /// <summary>How many processes in the machine match <paramref name="pattern"/> (pgrep -f), counted by an execution.</summary>
    public async Task<int> CountProcessesAsync(string machineId, string pattern)
    {
        // pgrep itself, not a shell whose command line would hold the pattern too.
        var (_, output) = await RunAsync(machineId, new { command = new[] { "pgrep", "-c", "-f", pattern } });
        return int.Parse(output.Stdout!.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        if (App is not null)
        {
            // Through the server's own runtime first: it knows the machines' network, which the server then shuts down.
            var serverRuntime = App.Services.GetRequiredService<IMachineRuntime>();
            foreach (var machineId in await serverRuntime.ListAsync(cts.Token))
            {
                await serverRuntime.DeleteAsync(machineId, cts.Token);
            }
        }

        await StopAppAsync();
        var runtime = new RuncMachineRuntime(new RuncRuntimeOptions { DataDirectory = ServerConfiguration.RuntimeDirectory(new ServerOptions { DataDirectory = _data.Path }) });
        foreach (var machineId in await runtime.ListAsync(cts.Token))
        {
            await runtime.DeleteAsync(machineId, cts.Token);
        }

        _data.Dispose();
    }

    private async Task StartAppAsync()
    {
        (App, Http, _apiKey) = await RuncServer.StartAsync(_data.Path, _low, _low + 3, _arguments, "executions", _apiKey);
    }

    private async Task StopAppAsync()
    {
        if (App is null)
        {
            return;
        }

        Http.Dispose();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await App.StopAsync(cts.Token);
        await App.DisposeAsync();
        App = null!;
    }
}
