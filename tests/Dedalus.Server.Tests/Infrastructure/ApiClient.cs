using System.Net;
using System.Text;
using System.Text.Json;
using Dedalus.Contracts;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>An HTTP client for one org, with small helpers that return status, headers and parsed bodies.</summary>
public sealed class ApiClient(HttpClient http, string apiKey, string orgId, RunningServer server) : IDisposable
{
    public HttpClient Http => http;

    public string ApiKey => apiKey;

    public string OrgId => orgId;

    public RunningServer Server => server;

    public async Task<Response> SendAsync(HttpMethod method, string path, string? json = null, IDictionary<string, string>? headers = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var cts = new CancellationTokenSource(RunningServer.Timeout);
        using var response = await http.SendAsync(request, cts.Token);
        var body = await response.Content.ReadAsStringAsync(cts.Token);
        return new Response(response.StatusCode, body, response.Headers.ETag?.Tag, response.Headers, response.Content.Headers.ContentType?.MediaType);
    }

    public Task<Response> PostAsync(string path, string? json, IDictionary<string, string>? headers = null) => SendAsync(HttpMethod.Post, path, json, headers);

    public Task<Response> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    /// <summary>Asks for an SSH session on <paramref name="machineId"/> for <paramref name="publicKey"/> (a valid key unless told).</summary>
    public Task<Response> OpenSessionAsync(string machineId, string publicKey = TestKeys.Ed25519) =>
        PostAsync($"/v1/machines/{machineId}/ssh", JsonSerializer.Serialize(new CreateSshSessionRequest(publicKey), DedalusJsonContext.Default.CreateSshSessionRequest));

    public async Task<Machine> CreateMachineAsync(string json = """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""")
    {
        var response = await PostAsync("/v1/machines", json);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return response.Machine();
    }

    /// <summary>Creates a machine and waits until it runs.</summary>
    public async Task<Machine> CreateRunningMachineAsync(string json = """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""")
    {
        var created = await CreateMachineAsync(json);
        return await WaitForPhaseAsync(created.MachineId, MachinePhases.Running);
    }

    public async Task<Machine> WaitForPhaseAsync(string machineId, string phase)
    {
        var deadline = DateTime.UtcNow + RunningServer.Timeout;
        while (true)
        {
            await server.SettleAsync();
            var machine = (await GetAsync($"/v1/machines/{machineId}")).Machine();
            if (machine.Phase == phase)
            {
                return machine;
            }

            Assert.True(DateTime.UtcNow < deadline, $"machine {machineId} did not reach {phase}; it is {machine.Phase}");
            await Task.Delay(20);
        }
    }

    public void Dispose() => http.Dispose();
}
