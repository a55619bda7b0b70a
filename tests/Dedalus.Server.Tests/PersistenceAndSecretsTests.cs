using System.Net;
using System.Text.RegularExpressions;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

public sealed partial class PersistenceAndSecretsTests : IDisposable
{
    private readonly TempDirectory _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task A_restarted_server_keeps_machines_sessions_keys_and_ca_and_repairs_machines_to_their_desired_state()
    {
        string key;
        string running;
        string sleeping;
        string sessionId;
        string certificate;
        string hostCa;
        await using (var first = await RunningServer.StartAsync(_data.Path))
        {
            using var api = await first.NewClientAsync();
            key = api.ApiKey;
            running = (await api.CreateRunningMachineAsync()).MachineId;
            sleeping = (await api.CreateRunningMachineAsync()).MachineId;
            await api.PostAsync($"/v1/machines/{sleeping}/sleep", null);
            await api.WaitForPhaseAsync(sleeping, MachinePhases.Sleeping);
            var session = (await api.OpenSessionAsync(running)).Session();
            sessionId = session.SessionId;
            certificate = session.Connection!.UserCertificate!;
            hostCa = session.Connection.HostTrust!.PublicKey;
        }

        // A new process has a fresh (empty) in-memory runtime: repair must provision and start again.
        await using var second = await RunningServer.StartAsync(_data.Path);
        using var again = second.Client(key);
        await second.SettleAsync();

        var machines = (await again.GetAsync("/v1/machines")).MachineList().Items;
        Assert.Equal([running, sleeping], machines.Select(m => m.MachineId));
        Assert.Equal(MachinePhases.Running, (await again.WaitForPhaseAsync(running, MachinePhases.Running)).Phase);
        Assert.Equal(MachinePhases.Sleeping, (await again.GetAsync($"/v1/machines/{sleeping}")).Machine().Phase);
        Assert.NotNull(second.Runtime.GetSpec(running));
        Assert.NotNull(second.Runtime.GetSpec(sleeping));
        var kept = (await again.GetAsync($"/v1/machines/{running}/ssh/{sessionId}")).Session();
        Assert.Equal(SshSessionStatuses.Ready, kept.Status);
        Assert.Equal(certificate, kept.Connection!.UserCertificate);
        Assert.Equal(hostCa, kept.Connection.HostTrust!.PublicKey);
    }

    [Fact]
    public async Task Ca_keys_are_0600_openssh_files_and_never_appear_in_responses_or_logs()
    {
        var bodies = new List<string>();
        var logs = new LogCollector();
        await using (var server = await RunningServer.StartAsync(_data.Path, logs: logs))
        {
            using var api = await server.NewClientAsync();
            var machine = await api.CreateRunningMachineAsync();
            var session = await api.OpenSessionAsync(machine.MachineId);
            bodies.Add(session.Body);
            bodies.Add((await api.GetAsync($"/v1/machines/{machine.MachineId}/ssh")).Body);
            bodies.Add((await api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.Session().SessionId}")).Body);
            bodies.Add((await api.GetAsync($"/v1/machines/{machine.MachineId}")).Body);
            bodies.Add((await api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", """{"public_key":"ssh-ed25519 AAAA"}""")).Body);
            bodies.Add((await api.GetAsync("/openapi/v1.json")).Body);
            bodies.Add(server.Runtime.GetSpec(machine.MachineId)!.Ssh.HostCertificate);
        }

        foreach (var name in new[] { "user_ca", "host_ca" })
        {
            var path = Path.Combine(_data.Path, "ca", name);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            var text = await File.ReadAllTextAsync(path);
            Assert.StartsWith("-----BEGIN OPENSSH PRIVATE KEY-----", text, StringComparison.Ordinal);
            var fingerprint = await ProcessRunner.RunAsync("ssh-keygen", "-l", "-f", path);
            Assert.True(fingerprint.ExitCode == 0, fingerprint.ToString());

            // Any 40-character run of the private key's base64 body would betray it.
            var body = string.Concat(text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));
            foreach (var chunk in Chunks(body, 40))
            {
                Assert.DoesNotContain(chunk, logs.AllText, StringComparison.Ordinal);
                Assert.All(bodies, b => Assert.DoesNotContain(chunk, b, StringComparison.Ordinal));
            }
        }

        Assert.NotEmpty(logs.Lines);
        Assert.Contains(logs.Lines, l => l.Contains("Created CA key", StringComparison.Ordinal));
        Assert.DoesNotMatch(PrivateKeyMarker(), logs.AllText);
    }

    [Fact]
    public async Task An_unexpected_failure_is_a_500_envelope_without_details()
    {
        await using var server = await RunningServer.StartAsync(_data.Path);
        using var api = await server.NewClientAsync();
        var store = server.Service<Dedalus.Server.Store.IStore>();
        await ((Dedalus.Server.Store.Sqlite.SqliteStore)store).DisposeAsync();

        var response = await api.GetAsync($"/v1/machines/dm-{Guid.NewGuid()}");
        var create = await api.PostAsync("/v1/machines", """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""");

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.Equal(HttpStatusCode.InternalServerError, create.Status);
        var error = create.Error();
        Assert.Equal(ErrorCodes.Internal, error.ErrorCode);
        Assert.DoesNotContain("   at ", create.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", create.Body, StringComparison.Ordinal);
    }

    private static IEnumerable<string> Chunks(string text, int size)
    {
        for (var i = 0; i + size <= text.Length; i += size)
        {
            yield return text.Substring(i, size);
        }
    }

    [GeneratedRegex("BEGIN OPENSSH PRIVATE KEY")]
    private static partial Regex PrivateKeyMarker();
}
