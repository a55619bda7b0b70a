using Microsoft.AspNetCore.Builder;

namespace Dedalus.Client.Tests;

public sealed class SshSessionTests
{
    [Fact]
    public async Task Waiting_polls_through_a_wake_until_ready_honouring_retry_after()
    {
        var polls = 0;
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapPost("/v1/machines/{id}/ssh", () => Wire.Json(Samples.Session(SshSessionStatuses.WakeInProgress, retryAfterMs: 50)));
            app.MapGet("/v1/machines/{id}/ssh/{sid}", () => Interlocked.Increment(ref polls) switch
            {
                1 => Wire.Json(Samples.Session(SshSessionStatuses.WakeInProgress, retryAfterMs: 50)),
                2 => Wire.Json(Samples.Session("something_newer")),
                _ => Wire.Json(Samples.Session(SshSessionStatuses.Ready)),
            });
        });
        using var client = api.CreateClient();
        var seen = new List<string>();

        var session = await client.Machines.Ssh.CreateAsync(Samples.MachineId, "ssh-ed25519 AAAA\n");
        var ready = await client.Machines.Ssh.WaitUntilReadyAsync(session, TimeSpan.FromSeconds(10), new SyncProgress(s => seen.Add(s.Status)));

        Assert.Equal(SshSessionStatuses.Ready, ready.Status);
        Assert.Equal([SshSessionStatuses.WakeInProgress, SshSessionStatuses.WakeInProgress, "something_newer", SshSessionStatuses.Ready], seen);
        Assert.Contains("\"public_key\":\"ssh-ed25519 AAAA\"", api.Requests.First().Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SshSessionStatuses.Failed, "machine failed to start")]
    [InlineData(SshSessionStatuses.Expired, "expired")]
    [InlineData(SshSessionStatuses.Closed, "closed")]
    public async Task A_terminal_status_raises_a_session_error_with_the_reason(string status, string expected)
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/ssh/{sid}", () =>
            Wire.Json(Samples.Session(status, errorMessage: status == SshSessionStatuses.Failed ? "machine failed to start" : null))));
        using var client = api.CreateClient();

        var error = await Assert.ThrowsAsync<DedalusSshSessionException>(() =>
            client.Machines.Ssh.WaitUntilReadyAsync(Samples.Session(SshSessionStatuses.WakeInProgress, retryAfterMs: 10)));

        Assert.Equal(status, error.Status);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTimeout);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(60_001)]
    public async Task An_out_of_range_retry_after_is_refused(long retryAfterMs)
    {
        await using var api = await StubApi.StartAsync(_ => { });
        using var client = api.CreateClient();

        var error = await Assert.ThrowsAsync<DedalusSshSessionException>(() =>
            client.Machines.Ssh.WaitUntilReadyAsync(Samples.Session(SshSessionStatuses.WakeInProgress, retryAfterMs: retryAfterMs)));

        Assert.Contains("retry_after_ms", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_that_never_gets_ready_times_out()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/ssh/{sid}", () =>
            Wire.Json(Samples.Session(SshSessionStatuses.WakeInProgress, retryAfterMs: 20))));
        using var client = api.CreateClient();

        var error = await Assert.ThrowsAsync<DedalusSshSessionException>(() =>
            client.Machines.Ssh.WaitUntilReadyAsync(Samples.Session(SshSessionStatuses.WakeInProgress, retryAfterMs: 20), TimeSpan.FromMilliseconds(300)));

        Assert.True(error.IsTimeout);
    }

    public static TheoryData<SshConnection?> UnusableConnections() => new()
    {
        null,
        Samples.Connection(endpoint: "host\nProxyCommand evil"),
        Samples.Connection(endpoint: ""),
        Samples.Connection(port: 0),
        Samples.Connection(port: 70000),
        Samples.Connection(pattern: "* evil"),
        Samples.Connection() with { UserCertificate = null },
        Samples.Connection() with { HostTrust = null },
        Samples.Connection() with { HostTrust = new SshHostTrust("cert_authority", "*", "ssh-ed25519 AAAA\r\n@cert-authority * other") },
    };

    [Theory]
    [MemberData(nameof(UnusableConnections))]
    public async Task A_ready_session_with_unusable_fields_is_refused(SshConnection? connection)
    {
        await using var api = await StubApi.StartAsync(_ => { });
        using var client = api.CreateClient();
        var session = Samples.Session(SshSessionStatuses.Ready) with { Connection = connection };

        var error = await Assert.ThrowsAsync<DedalusSshSessionException>(() => client.Machines.Ssh.WaitUntilReadyAsync(session));

        Assert.Contains("server bug", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Session_calls_use_the_documented_paths()
    {
        await using var api = await StubApi.StartAsync(app =>
        {
            app.MapGet("/v1/machines/{id}/ssh/{sid}", () => Wire.Json(Samples.Session(SshSessionStatuses.Ready)));
            app.MapDelete("/v1/machines/{id}/ssh/{sid}", () => Wire.Json(Samples.Session(SshSessionStatuses.Closed)));
        });
        using var client = api.CreateClient();

        var retrieved = await client.Machines.Ssh.RetrieveAsync(Samples.MachineId, "ssh-1");
        var deleted = await client.Machines.Ssh.DeleteAsync(Samples.MachineId, "ssh-1");

        Assert.Equal("127.0.0.1", retrieved.Connection!.Endpoint);
        Assert.Equal(SshSessionStatuses.Closed, deleted.Status);
        Assert.Equal(
            ["GET /v1/machines/" + Samples.MachineId + "/ssh/ssh-1", "DELETE /v1/machines/" + Samples.MachineId + "/ssh/ssh-1"],
            api.Requests.Select(r => r.Method + " " + r.PathAndQuery));
    }

    [Fact]
    public void Session_files_are_private_hold_the_session_and_vanish_on_dispose()
    {
        var keyPair = SshKeyPair.GenerateEd25519();
        string directory;
        using (var files = SshSessionFiles.Create(Samples.Session(SshSessionStatuses.Ready), keyPair))
        {
            directory = files.Directory;
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
            foreach (var path in new[] { files.PrivateKeyPath, files.CertificatePath, files.KnownHostsPath })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            Assert.Equal("@cert-authority [127.0.0.1]:* ssh-ed25519 AAAAhostca\n", File.ReadAllText(files.KnownHostsPath));
            Assert.Equal("ssh-ed25519-cert-v01@openssh.com AAAAtest\n", File.ReadAllText(files.CertificatePath));
            Assert.StartsWith("-----BEGIN OPENSSH PRIVATE KEY-----", File.ReadAllText(files.PrivateKeyPath), StringComparison.Ordinal);
            Assert.Equal(
                [
                    "-i", files.PrivateKeyPath,
                    "-o", $"CertificateFile=\"{files.CertificatePath}\"",
                    "-o", $"UserKnownHostsFile=\"{files.KnownHostsPath}\"",
                    "-o", "GlobalKnownHostsFile=/dev/null",
                    "-o", "StrictHostKeyChecking=yes",
                    "-o", "IdentitiesOnly=yes",
                    "-p", "2222",
                    "-L", "8080:localhost:80",
                    "--", "machine@127.0.0.1",
                    "echo", "hi",
                ],
                files.GetSshArguments(["-L", "8080:localhost:80"], ["echo", "hi"]));
        }

        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public void Session_files_refuse_a_session_that_is_not_ready()
    {
        var error = Assert.Throws<DedalusSshSessionException>(() =>
            SshSessionFiles.Create(Samples.Session(SshSessionStatuses.WakeInProgress), SshKeyPair.GenerateEd25519()));

        Assert.Equal(SshSessionStatuses.WakeInProgress, error.Status);
    }

    [Fact]
    public async Task An_ephemeral_key_pair_is_readable_by_ssh_keygen()
    {
        var keyPair = SshKeyPair.GenerateEd25519("test");
        using var directory = new Dedalus.Testing.TempDirectory();
        var path = directory.WriteFile("key", keyPair.PrivateKey);

        var result = await Dedalus.Testing.ProcessRunner.RunAsync("ssh-keygen", "-y", "-f", path);

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith(keyPair.PublicKey, result.StandardOutput.Trim(), StringComparison.Ordinal);
        Assert.StartsWith("ssh-ed25519 ", keyPair.PublicKey, StringComparison.Ordinal);
    }

    private sealed class SyncProgress(Action<SshSession> report) : IProgress<SshSession>
    {
        public void Report(SshSession value) => report(value);
    }
}
