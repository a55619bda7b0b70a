using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dedalus.Contracts;
using Xunit;

namespace Dedalus.Testing.ControlPlane;

/// <summary>
/// The real <c>dedalus-server</c> (API, gateway, runc machines) as a process on 127.0.0.1 with a temporary data
/// directory and <c>--dev</c> credentials written to a temporary config home; one running machine is created.
/// The program is <c>dedalus-server</c> beside the test assembly: a test project that uses this fixture references
/// the server project for it. Its own calls use plain HTTP and the wire contract, not the SDK under test.
/// </summary>
public sealed class RealServer : IAsyncLifetime
{
    private readonly TempDirectory _directory = new("dedalus-real-server-");
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly IReadOnlyList<string> _extraArguments;
    private TestProcess? _process;

    /// <summary>The server with the fixture's settings (a class fixture: xunit wants one public constructor).</summary>
    public RealServer()
        : this([])
    {
    }

    private RealServer(IReadOnlyList<string> extraArguments)
    {
        _extraArguments = extraArguments;
    }

    /// <summary>A server (not started) with <paramref name="extraArguments"/> after the fixture's own (say <c>--Dedalus:SweepInterval 00:00:01</c>).</summary>
    public static RealServer With(params string[] extraArguments) => new(extraArguments);

    public Uri BaseUrl { get; private set; } = null!;

    public string ApiKey { get; private set; } = null!;

    public string MachineId { get; private set; } = null!;

    public string ConfigHome => _directory.Combine("config");

    /// <summary>The server's data directory (its <c>ca/</c> is what <c>dedalus-server ca</c> works on).</summary>
    public string DataDirectory => _directory.Combine("data");

    public static string Program => Path.Combine(AppContext.BaseDirectory, "dedalus-server");

    public async Task InitializeAsync()
    {
        // The machines' mapped root must traverse the data directory's ancestors (0711: traverse, not list).
        File.SetUnixFileMode(_directory.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var port = FreePort.Next();
        var gatewayLow = FreePort.Next();
        _process = TestProcess.Start(
            Program,
            [
                "--data-dir", DataDirectory,
                "--listen", $"127.0.0.1:{port}",
                "--runtime", "runc",
                "--gateway", "true",
                "--gateway-ports", $"{gatewayLow}-{gatewayLow + 3}",

                // One org on four ports: its machines may take all of them (the default quota is a tenth of the range).
                "--quota-machines", "100%",
                "--dev",
                .. TestSubnets.ServerArguments(DataDirectory),
                .. _extraArguments,
            ],
            [new("XDG_CONFIG_HOME", ConfigHome)],
            drainOutput: true);

        // The server logs the dev credentials once it has written them (after it listens).
        if (!await _process.Output.WaitForAsync("Dev credentials for org", timeout: TimeSpan.FromSeconds(120)))
        {
            throw new InvalidOperationException("dedalus-server did not start:\n" + Log);
        }

        var devFile = Path.Combine(ConfigHome, "dedalus", "dev.env");
        var values = File.ReadAllLines(devFile).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        BaseUrl = new Uri(values["DEDALUS_BASE_URL"]);
        ApiKey = values["DEDALUS_API_KEY"];

        _http.BaseAddress = BaseUrl;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

        // The first machine on a fresh host builds the shared base userland (debootstrap): allow minutes.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        using var created = await _http.PostAsJsonAsync("/v1/machines", new CreateMachineRequest(1, 512, 1, "never"), DedalusJsonContext.Default.CreateMachineRequest, cts.Token);
        var machine = await ReadAsync(created, cts.Token);
        MachineId = machine.MachineId;
        while (machine.Status.Phase != MachinePhases.Running)
        {
            if (machine.Status.Phase == MachinePhases.Failed)
            {
                throw new InvalidOperationException($"machine {MachineId} failed: {machine.Status.LastError}\n{Log}");
            }

            await Task.Delay(100, cts.Token);
            using var retrieved = await _http.GetAsync(new Uri("/v1/machines/" + MachineId, UriKind.Relative), cts.Token);
            machine = await ReadAsync(retrieved, cts.Token);
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            try
            {
                if (!_process.HasExited)
                {
                    // Every machine of the key's org, not only our own: a test's program may have made more, and a machine
                    // still being destroyed when the server stops keeps its mounts under the data directory.
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                    foreach (var id in await LiveMachineIdsAsync(cts.Token))
                    {
                        using var deleted = await _http.DeleteAsync(new Uri("/v1/machines/" + id, UriKind.Relative), cts.Token);
                    }

                    while ((await LiveMachineIdsAsync(cts.Token)).Count > 0)
                    {
                        await Task.Delay(100, cts.Token);
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException or OperationCanceledException)
            {
            }

            if (!_process.HasExited)
            {
                // SIGTERM: a graceful stop lets the runtime stop its machines; disposing kills what is left.
                await _process.SignalAsync("TERM");
                try
                {
                    await _process.WaitForExitAsync(TimeSpan.FromSeconds(30));
                }
                catch (TimeoutException)
                {
                }
            }

            await _process.DisposeAsync();
        }

        _http.Dispose();
        _directory.Dispose();
    }

    private async Task<Machine> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"dedalus-server answered {(int)response.StatusCode} to {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {body}\n{Log}");
        }

        return await response.Content.ReadFromJsonAsync(DedalusJsonContext.Default.Machine, cancellationToken)
            ?? throw new InvalidOperationException("dedalus-server answered with an empty body");
    }

    /// <summary>The ids of the org's machines that are not destroyed yet.</summary>
    private async Task<List<string>> LiveMachineIdsAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri("/v1/machines?limit=100", UriKind.Relative), cancellationToken);
        response.EnsureSuccessStatusCode();
        var list = await response.Content.ReadFromJsonAsync(DedalusJsonContext.Default.MachineList, cancellationToken);
        return [.. list!.Items.Where(m => m.Status.Phase != MachinePhases.Destroyed).Select(m => m.MachineId)];
    }

    /// <summary>What the server has printed so far (its log), for failure messages.</summary>
    private string Log => _process is null ? "(not started)" : _process.Output.Text + _process.Errors.Text;
}
