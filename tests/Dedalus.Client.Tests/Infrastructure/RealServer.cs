using System.Diagnostics;
using Dedalus.Testing;

namespace Dedalus.Client.Tests.Infrastructure;

/// <summary>
/// The real <c>dedalus-server</c> (API, gateway, runc machines) as a process on 127.0.0.1 with a temporary data
/// directory and <c>--dev</c> credentials written to a temporary config home; one running machine is created.
/// </summary>
public sealed class RealServer : IAsyncLifetime
{
    private readonly TempDirectory _directory = new("dedalus-real-server-");
    private readonly StringWriterLog _log = new();
    private Process? _process;

    public Uri BaseUrl { get; private set; } = null!;

    public string ApiKey { get; private set; } = null!;

    public string MachineId { get; private set; } = null!;

    public string ConfigHome => _directory.Combine("config");

    public static string Program => Path.Combine(AppContext.BaseDirectory, "dedalus-server");

    public DedalusClient CreateClient(string? apiKey = null) =>
        new(new DedalusClientOptions { BaseUrl = BaseUrl, ApiKey = apiKey ?? ApiKey, Timeout = TimeSpan.FromSeconds(30) });

    public async Task InitializeAsync()
    {
        // The machines' mapped root must traverse the data directory's ancestors (0711: traverse, not list).
        File.SetUnixFileMode(_directory.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var port = FreePort.Next();
        var gatewayLow = FreePort.Next();
        var startInfo = new ProcessStartInfo(Program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            "--data-dir", _directory.Combine("data"),
            "--listen", $"127.0.0.1:{port}",
            "--runtime", "runc",
            "--gateway",
            "--gateway-ports", $"{gatewayLow}-{gatewayLow + 3}",
            "--dev",
        })
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["XDG_CONFIG_HOME"] = ConfigHome;
        _process = Process.Start(startInfo)!;
        _process.OutputDataReceived += (_, e) => _log.Add(e.Data);
        _process.ErrorDataReceived += (_, e) => _log.Add(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var devFile = Path.Combine(ConfigHome, "dedalus", "dev.env");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(devFile) || !File.ReadAllText(devFile).Contains("DEDALUS_API_KEY=", StringComparison.Ordinal))
        {
            if (_process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new InvalidOperationException("dedalus-server did not start:\n" + _log);
            }

            await Task.Delay(100);
        }

        var values = File.ReadAllLines(devFile).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        BaseUrl = new Uri(values["DEDALUS_BASE_URL"]);
        ApiKey = values["DEDALUS_API_KEY"];

        // The first machine on a fresh host builds the shared base userland (debootstrap): allow minutes.
        using var client = CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var machine = await client.Machines.CreateAsync(new Contracts.CreateMachineRequest(1, 512, 1, "never"), cts.Token);
        MachineId = machine.MachineId;
        await WaitForPhaseAsync(client, MachineId, MachinePhases.Running, cts.Token);
    }

    public static async Task<Machine> WaitForPhaseAsync(DedalusClient client, string machineId, string phase, CancellationToken cancellationToken)
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

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            try
            {
                if (MachineId is not null && !_process.HasExited)
                {
                    using var client = CreateClient();
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await client.Machines.DeleteAsync(MachineId, cts.Token);
                    await WaitGoneAsync(client, MachineId, cts.Token);
                }
            }
            catch (Exception e) when (e is DedalusException or OperationCanceledException)
            {
            }

            if (!_process.HasExited)
            {
                // SIGTERM: a graceful stop lets the runtime stop its machines.
                await ProcessRunner.RunAsync("kill", "-s", "TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try
                {
                    await _process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }

            _process.Dispose();
        }

        _directory.Dispose();
    }

    private static async Task WaitGoneAsync(DedalusClient client, string machineId, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                var machine = await client.Machines.RetrieveAsync(machineId, cancellationToken);
                if (machine.Status.Phase == MachinePhases.Destroyed)
                {
                    return;
                }
            }
            catch (DedalusNotFoundException)
            {
                return;
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private sealed class StringWriterLog
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public void Add(string? line)
        {
            if (line is not null && _lines.Count < 2000)
            {
                _lines.Enqueue(line);
            }
        }

        public override string ToString() => string.Join('\n', _lines);
    }
}
