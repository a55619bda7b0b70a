namespace Dedalus.Client.Tests.Infrastructure;

/// <summary>SDK clients of the shared test servers.</summary>
public static class TestClients
{
    /// <summary>A client of <paramref name="api"/> with short limits, so a retry test does not wait a minute.</summary>
    public static DedalusClient CreateClient(this StubApi api, int maxRetries = 2, TimeSpan? timeout = null, string? apiKey = "test-key") =>
        new(new DedalusClientOptions
        {
            BaseUrl = api.BaseUrl,
            ApiKey = apiKey,
            MaxRetries = maxRetries,
            Timeout = timeout ?? TimeSpan.FromSeconds(10),
        });

    /// <summary>A client of the real server, with its dev key unless another is given.</summary>
    public static DedalusClient CreateClient(this RealServer server, string? apiKey = null) =>
        new(new DedalusClientOptions { BaseUrl = server.BaseUrl, ApiKey = apiKey ?? server.ApiKey, Timeout = TimeSpan.FromSeconds(30) });

    /// <summary>Reads a machine until it reaches <paramref name="phase"/>; fails at once if it failed.</summary>
    public static async Task<Machine> WaitForPhaseAsync(this DedalusClient client, string machineId, string phase, CancellationToken cancellationToken)
    {
        while (true)
        {
            var machine = await client.Machines.RetrieveAsync(machineId, cancellationToken);
            if (machine.Status.Phase == phase)
            {
                return machine;
            }

            if (machine.Status.Phase == MachinePhases.Failed)
            {
                throw new InvalidOperationException($"machine {machineId} failed: {machine.Status.LastError}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}
