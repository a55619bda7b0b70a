using System.Diagnostics;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;

namespace Dedalus.Server.Tests;

/// <summary>
/// <c>/metrics</c> with every real part: a runc machine, a session, real <c>ssh</c> through the in-process gateway (strict
/// host checking); the gateway's series count the connection and its bytes under the names the README promises.
/// </summary>
public sealed class MetricsRuncTests : IAsyncLifetime
{
    private static readonly TimeSpan MachineTimeout = TimeSpan.FromMinutes(15);
    private readonly TempDirectory _data = new("dedalus-metrics-");
    private readonly TempDirectory _client = new("dedalus-metrics-client-");
    private readonly int _port = FreePort.Next();
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync() =>
        (_app, _http, _) = await RuncServer.StartAsync(_data.Path, _port, _port, ["--Dedalus:SweepInterval", "00:00:00.200"], "metrics");

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await RuncServer.StopAsync(_app);
        _data.Dispose();
        _client.Dispose();
    }

    [Fact]
    public async Task An_ssh_login_through_the_gateway_shows_as_a_connection_and_bytes_each_way()
    {
        var created = await _http.SendJsonAsync(HttpMethod.Post, "/v1/machines", """{"vcpu":1,"memory_mib":512,"storage_gib":1}""", DedalusJsonContext.Default.Machine);
        await WaitForRunningAsync(created.MachineId);
        var (publicKey, keyPath) = await ClientKeys.GenerateAsync(_client, "id");
        var session = await _http.SendJsonAsync(HttpMethod.Post, $"/v1/machines/{created.MachineId}/ssh", $$"""{"public_key":"{{publicKey}}"}""", DedalusJsonContext.Default.SshSession);
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        await File.WriteAllTextAsync(keyPath + "-cert.pub", session.Connection!.UserCertificate + "\n");
        await File.WriteAllTextAsync(_client.Combine("known_hosts"), $"@cert-authority {session.Connection.HostTrust!.HostPattern} {session.Connection.HostTrust.PublicKey}\n");

        var hello = await ProcessRunner.RunAsync(
            "ssh",
            ["-i", keyPath, "-o", $"CertificateFile={keyPath}-cert.pub", "-o", $"UserKnownHostsFile={_client.Combine("known_hosts")}", "-o", "GlobalKnownHostsFile=/dev/null",
             "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20",
             "-p", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), "machine@localhost", "--", "echo", "metered"],
            timeout: TimeSpan.FromSeconds(60));
        Assert.True(hello.ExitCode == 0, hello.ToString());

        var scrape = PrometheusText.Parse("");
        Assert.True(
            await Eventually.TrueAsync(async () =>
            {
                scrape = PrometheusText.Parse(await _http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
                return scrape.Value("dedalus_gateway_io_bytes_total", ("network_io_direction", "transmit")) > 0
                    && scrape.Value("dedalus_gateway_connections_open") == 0
                    && scrape.Value("dedalus_machine_count", ("dedalus_machine_phase", MachinePhases.Running)) == 1;
            }, TimeSpan.FromSeconds(60)),
            "the scrape never showed the closed connection, its bytes and the running machine");

        // An SSH login moves a few kilobytes each way (key exchange, authentication, the command).
        Assert.InRange(scrape.Value("dedalus_gateway_io_bytes_total", ("network_io_direction", "receive")), 1000, 1_000_000);
        Assert.InRange(scrape.Value("dedalus_gateway_io_bytes_total", ("network_io_direction", "transmit")), 1000, 1_000_000);
        Assert.Equal("counter", scrape.Types["dedalus_gateway_io_bytes_total"]);
        Assert.Equal("gauge", scrape.Types["dedalus_gateway_connections_open"]);
        Assert.Equal(1, scrape.Value("dedalus_session_creates_total", ("outcome", SshSessionStatuses.Ready)));
        Assert.Equal(0, scrape.Series("dedalus_reconciler_errors_total").Sum(s => s.Value));
    }

    private async Task WaitForRunningAsync(string machineId)
    {
        var elapsed = Stopwatch.StartNew();
        while (true)
        {
            var machine = await _http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machineId}", null, DedalusJsonContext.Default.Machine);
            if (machine.Phase == MachinePhases.Running)
            {
                return;
            }

            Assert.NotEqual(MachinePhases.Failed, machine.Phase);
            Assert.True(elapsed.Elapsed < MachineTimeout, $"machine is {machine.Phase}: {machine.Status.LastError}");
            await Task.Delay(100);
        }
    }
}
