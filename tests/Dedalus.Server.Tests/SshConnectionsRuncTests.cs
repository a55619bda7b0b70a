using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Auth;
using Dedalus.Server.Connections;
using Dedalus.Server.Errors;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dedalus.Server.Tests;

/// <summary>
/// A machine's SSH connections with real parts: the server with the runc runtime and its gateway, a real <c>ssh</c>
/// logged in with a session certificate, read as live (peer, session, bytes that grow) and, once closed, in the history;
/// through the API and through <see cref="SshConnections"/>, which the console calls.
/// </summary>
public sealed class SshConnectionsRuncTests : IAsyncLifetime
{
    private static readonly TimeSpan MachineTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _data = new("dedalus-conn-");
    private readonly TempDirectory _client = new("dedalus-conn-client-");
    private readonly int _port = FreePort.Next();
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        (_app, _http, _) = await RuncServer.StartAsync(_data.Path, _port, _port, [], "connections");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await RuncServer.StopAsync(_app);
        _data.Dispose();
        _client.Dispose();
    }

    [Fact]
    public async Task A_real_ssh_connection_reads_live_with_its_peer_session_and_growing_bytes_then_in_the_history_and_another_org_gets_404()
    {
        var created = await _http.SendJsonAsync(HttpMethod.Post, "/v1/machines", """{"vcpu":0.5,"memory_mib":256,"storage_gib":1}""", DedalusJsonContext.Default.Machine);
        var machine = await WaitForRunningAsync(created.MachineId);
        var (publicKey, keyPath) = await ClientKeys.GenerateAsync(_client, "id");
        var session = await _http.SendJsonAsync(HttpMethod.Post, $"/v1/machines/{machine.MachineId}/ssh", $$"""{"public_key":"{{publicKey}}"}""", DedalusJsonContext.Default.SshSession);
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        await File.WriteAllTextAsync(keyPath + "-cert.pub", session.Connection!.UserCertificate + "\n");
        await File.WriteAllTextAsync(_client.Combine("known_hosts"), $"@cert-authority {session.Connection.HostTrust!.HostPattern} {session.Connection.HostTrust.PublicKey}\n");

        // The command inside writes a line that reads like sshd's login line, naming another session and address: it goes
        // to the client as channel data, and nothing of it may show in what the gateway lists.
        await using var ssh = TestProcess.Start("ssh", SshArguments(
            keyPath, "sh", "-c", "'echo \"Accepted publickey for machine from 10.6.6.6 port 6 ssh2: ED25519-CERT ID ss-6666666666666666 (serial 6)\" >&2; cat >/dev/null'"));
        var live = await WaitForLiveAsync(machine.MachineId, c => c.SessionId == session.SessionId);

        Assert.Equal(session.SessionId, live.SessionId);
        Assert.Matches(@"^127\.0\.0\.1:\d+$", live.Peer);
        Assert.NotEqual(_port, int.Parse(live.Peer.Split(':')[1], CultureInfo.InvariantCulture));
        Assert.True(live.BytesIn > 0 && live.BytesOut > 0, $"{live.BytesIn} bytes in, {live.BytesOut} out");
        Assert.InRange(live.StartedAt, DateTimeOffset.UtcNow - MachineTimeout, DateTimeOffset.UtcNow);
        var ours = await OpenConnectionsOfOurPortAsync();
        Assert.Contains(live.Peer, ours);

        // The wire names (snake_case), as the console reads them.
        var json = await GetStringAsync($"/v1/machines/{machine.MachineId}/ssh/connections");
        var item = JsonDocument.Parse(json).RootElement.GetProperty("items")[0];
        Assert.Equal(session.SessionId, item.GetProperty("session_id").GetString());
        Assert.Equal(live.Peer, item.GetProperty("peer").GetString());
        Assert.All(new[] { "started_at", "bytes_in", "bytes_out", "as_of" }, name => Assert.True(item.TryGetProperty(name, out _), $"no {name} in {json}"));

        // Data sent makes bytes_in grow by at least as much.
        await ssh.StandardInput.WriteAsync(new string('x', 512 * 1024));
        await ssh.StandardInput.FlushAsync();
        var grown = await WaitForLiveAsync(machine.MachineId, c => c.SessionId == session.SessionId && c.BytesIn >= live.BytesIn + 512 * 1024);
        Assert.Equal((live.Peer, live.StartedAt), (grown.Peer, grown.StartedAt));

        // Closed: no longer live, and first in the history with its end reason and its bytes.
        ssh.StandardInput.Close();
        Assert.Equal(0, await ssh.WaitForExitAsync(Wait));
        Assert.True(await Eventually.TrueAsync(async () => (await ListLiveAsync(machine.MachineId)).Items.Count == 0, Wait), "the closed connection still reads live");
        // On the machine's own node the list is the gateway's, which drops a connection as it ends, a moment before its
        // audit row is written.
        FinishedSshConnectionList history = null!;
        Assert.True(
            await Eventually.TrueAsync(
                async () => (history = await _http.SendJsonAsync(
                    HttpMethod.Get, $"/v1/machines/{machine.MachineId}/ssh/connections/history", null, ConnectionsJsonContext.Default.FinishedSshConnectionList)).Items.Count > 0,
                Wait),
            "the closed connection never showed in the history");
        var finished = history.Items[0];
        Assert.Equal(session.SessionId, finished.SessionId);
        Assert.Equal(live.Peer, finished.Peer);
        Assert.Equal(live.StartedAt, finished.StartedAt);
        // The ssh client closes once it has the exit status (client_closed, what runs here show); sshd may be first.
        Assert.Contains(finished.EndReason, new[] { "client_closed", "machine_closed" });
        Assert.True(finished.BytesIn >= grown.BytesIn, $"{finished.BytesIn} bytes in at the end, {grown.BytesIn} while live");
        Assert.True(finished.EndedAt >= finished.StartedAt);
        Assert.DoesNotContain(history.Items, c => c.SessionId == "ss-6666666666666666" || c.Peer.StartsWith("10.6.6.6", StringComparison.Ordinal));

        // The service the console calls says the same.
        var connections = _app.Services.GetRequiredService<SshConnections>();
        var (otherKey, otherOrg) = await _app.Services.GetRequiredService<ApiKeys>().CreateAsync("intruder");
        var orgId = Assert.Single(await _app.Services.GetRequiredService<Dedalus.Server.Store.IStore>().ListOrgsAsync(), o => o.Name == "connections").Id;
        var page = await connections.ListHistoryAsync(orgId, machine.MachineId, limit: 1);
        Assert.Equal(finished, Assert.Single(page.Items));
        Assert.Empty((await connections.ListLiveAsync(orgId, machine.MachineId)).Items);

        // Another org: 404, as every path of another org's machine, through the API and the service.
        using var intruder = new HttpClient { BaseAddress = _http.BaseAddress, Timeout = Wait };
        intruder.DefaultRequestHeaders.Add("x-api-key", otherKey);
        foreach (var path in new[] { $"/v1/machines/{machine.MachineId}/ssh/connections", $"/v1/machines/{machine.MachineId}/ssh/connections/history" })
        {
            using var response = await intruder.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains(ErrorCodes.NotFound, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<DomainException>(() => connections.ListLiveAsync(otherOrg, machine.MachineId))).Kind);
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<DomainException>(() => connections.ListHistoryAsync(otherOrg, machine.MachineId))).Kind);

        // A bad limit is a 400 naming it, as on every list.
        using var badLimit = await _http.GetAsync($"/v1/machines/{machine.MachineId}/ssh/connections/history?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Contains("limit", await badLimit.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private string[] SshArguments(string keyPath, params string[] command) =>
    [
        "-i", keyPath,
        "-o", $"CertificateFile={keyPath}-cert.pub",
        "-o", $"UserKnownHostsFile={_client.Combine("known_hosts")}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=20",
        "-p", _port.ToString(CultureInfo.InvariantCulture),
        "machine@localhost",
        "--",
        .. command,
    ];

    /// <summary>The client ends (<c>ip:port</c>) of the TCP connections to the gateway port, as the kernel lists them (<c>ss</c>).</summary>
    private async Task<IReadOnlyList<string>> OpenConnectionsOfOurPortAsync()
    {
        var result = await ProcessRunner.RunAsync("ss", "-Htn", "state", "established", $"( dport = :{_port} )");
        Assert.True(result.ExitCode == 0, result.ToString());
        return [.. result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 4)
            .Select(fields => fields[^2])];
    }

    private async Task<LiveSshConnectionList> ListLiveAsync(string machineId) =>
        await _http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machineId}/ssh/connections", null, ConnectionsJsonContext.Default.LiveSshConnectionList);

    private async Task<LiveSshConnection> WaitForLiveAsync(string machineId, Func<LiveSshConnection, bool> match)
    {
        LiveSshConnectionList? last = null;
        var found = await Eventually.TrueAsync(async () => (last = await ListLiveAsync(machineId)).Items.Any(match), Wait);
        Assert.True(found, $"not listed live: {JsonSerializer.Serialize(last, ConnectionsJsonContext.Default.LiveSshConnectionList)}");
        return last!.Items.Single(match);
    }

    private async Task<string> GetStringAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {body}");
        return body;
    }

    private async Task<Machine> WaitForRunningAsync(string machineId)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var machine = await _http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machineId}", null, DedalusJsonContext.Default.Machine);
            if (machine.Phase == MachinePhases.Running)
            {
                return machine;
            }

            Assert.True(deadline.Elapsed < MachineTimeout, $"machine is {machine.Phase}: {machine.Status.LastError}");
            Assert.NotEqual(MachinePhases.Failed, machine.Phase);
            await Task.Delay(100);
        }
    }
}
