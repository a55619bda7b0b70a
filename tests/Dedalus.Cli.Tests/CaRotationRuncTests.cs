using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dedalus.Client;
using Dedalus.OpenSsh;
using Dedalus.Testing;
using Dedalus.Testing.Sshd;

namespace Dedalus.Cli.Tests;

/// <summary>
/// CA rotation with real parts: <c>dedalus-server</c> as a process with its gateway and a runc machine,
/// <c>dedalus-server ca rotate</c> run beside it, and real <c>ssh</c> with strict host checking (each session's
/// <c>@cert-authority</c> line, nothing else), <c>dedalus ssh</c>, <c>ssh</c> through <c>dedalus ssh-config</c> and the
/// SDK's <c>ConnectAsync</c>. The sweep runs every second, so an overlap's end reaches the machine within one.
/// </summary>
public sealed class CaRotationRuncTests : IAsyncLifetime
{
    private const string HostKeyVerificationFailed = "Host key verification failed";
    private readonly RealServer _server = RealServer.With("--Dedalus:SweepInterval", "00:00:01");
    private readonly TempDirectory _keys = new("dedalus-rotation-keys-");
    private readonly TempDirectory _home = new("dedalus-rotation-home-");
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private CliProgram _cli = null!;

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();
        _http.BaseAddress = _server.BaseUrl;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _server.ApiKey);
        _cli = new CliProgram();
        _cli.Environment["DEDALUS_BASE_URL"] = _server.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = _server.ApiKey;
    }

    public async Task DisposeAsync()
    {
        _cli?.Dispose();
        _http.Dispose();
        await _server.DisposeAsync();
        _keys.Dispose();
        _home.Dispose();
    }

    [Fact]
    public async Task Sessions_of_the_old_user_CA_log_in_during_the_overlap_and_are_refused_after_it_while_new_sessions_keep_working()
    {
        var before = await OpenSessionAsync("before");
        var deleted = await OpenSessionAsync("deleted");

        // The old CA's private key as a thief would hold it (the test reads the server's file, as root can): what --overlap
        // 0 is for. Its certificates work exactly as long as machines trust the old CA.
        using var stolen = SshPrivateKey.ParseOpenSshFormat(await File.ReadAllTextAsync(Path.Combine(_server.DataDirectory, "ca", "user_ca")));

        var rotated = await RotateAsync("--user", "--overlap", "60s");
        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        var trustedUntil = TrustedUntilOfLastRetired();
        var after = await OpenSessionAsync("after");
        var forged = await ForgeSessionAsync(stolen, before, "forged");
        using (var response = await _http.DeleteAsync(new Uri($"/v1/machines/{_server.MachineId}/ssh/{deleted.SessionId}", UriKind.Relative)))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        // During the overlap: sessions of both CAs log in; the one deleted is refused (the KRL revokes it under the old CA).
        Assert.Equal("before\n", (await SshOkAsync(before, "echo", "before")).StandardOutput);
        Assert.Equal("after\n", (await SshOkAsync(after, "echo", "after")).StandardOutput);
        Assert.Equal("forged\n", (await SshOkAsync(forged, "echo", "forged")).StandardOutput);
        await AssertLoginRefusedAsync(deleted);
        Assert.True(DateTimeOffset.UtcNow < trustedUntil, $"the checks above were meant to run within the overlap, which ended at {trustedUntil:O}: a very slow host");

        // After it: the sweep drops the old CA from the machine's trust and closes its sessions; the new CA's still work.
        var refused = await Eventually.TrueAsync(
            async () => (await SshAsync(before, "true")).ExitCode != 0,
            trustedUntil - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(120));
        Assert.True(refused, "the old CA's session still logged in two minutes after its overlap ended");
        await AssertLoginRefusedAsync(before);
        await AssertLoginRefusedAsync(forged);
        Assert.Equal("still\n", (await SshOkAsync(after, "echo", "still")).StandardOutput);
        Assert.Equal(SshSessionStatuses.Closed, (await GetSessionAsync(before.SessionId)).Status);
        Assert.Equal(SshSessionStatuses.Ready, (await GetSessionAsync(after.SessionId)).Status);
    }

    [Fact]
    public async Task After_user_and_host_rotations_an_old_host_trust_is_refused_and_dedalus_ssh_ssh_config_and_the_SDK_connect_without_action()
    {
        var config = Path.Combine(_cli.Root, "ssh_config");
        var generated = await _cli.RunAsync("ssh-config");
        Assert.True(generated.ExitCode == 0, generated.ToString());
        await File.WriteAllTextAsync(config, generated.StandardOutput);
        var host = "dm-" + _server.MachineId;

        // Before: every client works, and leaves what it caches (ssh-config's certificate and known_hosts of this machine).
        Assert.Equal(0, (await _cli.RunAsync("ssh", _server.MachineId, "--", "true")).ExitCode);
        var viaConfig = await _cli.RunToolAsync("ssh", "-F", config, "-o", "BatchMode=yes", host, "echo", "config-before");
        Assert.True(viaConfig.ExitCode == 0, viaConfig.ToString());
        Assert.Equal("sdk-before\n", await SdkRunAsync("echo sdk-before"));
        var old = await OpenSessionAsync("old");
        Assert.Equal("old\n", (await SshOkAsync(old, "echo", "old")).StandardOutput);

        var user = await RotateAsync("--user");
        var rotatedHost = await RotateAsync("--host");
        var fresh = await OpenSessionAsync("fresh");

        Assert.True(user.ExitCode == 0, user.ToString());
        Assert.True(rotatedHost.ExitCode == 0, rotatedHost.ToString());
        Assert.NotEqual(old.Connection!.HostTrust!.PublicKey, fresh.Connection!.HostTrust!.PublicKey);

        // The new session's host trust verifies the machine; the old one's does not (its user certificate is still good:
        // the user CA's overlap runs, so what fails is the host check).
        Assert.Equal("fresh\n", (await SshOkAsync(fresh, "echo", "fresh")).StandardOutput);
        var oldLogin = await SshAsync(old, "true");
        Assert.True(oldLogin.ExitCode == 255, oldLogin.ToString());
        Assert.Contains(HostKeyVerificationFailed, oldLogin.StandardError, StringComparison.Ordinal);

        // The clients make a session per connection: nothing to do for them.
        var cli = await _cli.RunAsync("ssh", _server.MachineId, "--", "echo", "cli-after");
        Assert.True(cli.ExitCode == 0, cli.ToString());
        Assert.Equal("cli-after\n", cli.StandardOutput);
        viaConfig = await _cli.RunToolAsync("ssh", "-F", config, "-o", "BatchMode=yes", host, "echo", "config-after");
        Assert.True(viaConfig.ExitCode == 0, viaConfig.ToString());
        Assert.Equal("config-after\n", viaConfig.StandardOutput);
        Assert.Equal("sdk-after\n", await SdkRunAsync("echo sdk-after"));
    }

    private async Task<string> SdkRunAsync(string command)
    {
        using var client = new DedalusClient(new DedalusClientOptions { BaseUrl = _server.BaseUrl, ApiKey = _server.ApiKey, Timeout = TimeSpan.FromSeconds(30) });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        using var ssh = await client.Machines.Ssh.ConnectAsync(_server.MachineId, cancellationToken: cts.Token);
        using var run = ssh.RunCommand(command);
        Assert.Equal(0, run.ExitStatus);
        return run.Result;
    }

    /// <summary>A session as the API gives it, with its key and certificate files and a known_hosts file of its host trust only.</summary>
    private sealed record Session(string SessionId, SshConnection? Connection, string KeyPath, string KnownHostsPath);

    private async Task<Session> OpenSessionAsync(string name)
    {
        var keyPath = _keys.Combine(name);
        var keygen = await ProcessRunner.RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", keyPath);
        Assert.True(keygen.ExitCode == 0, keygen.ToString());
        using var response = await _http.PostAsJsonAsync(
            new Uri($"/v1/machines/{_server.MachineId}/ssh", UriKind.Relative),
            new CreateSshSessionRequest((await File.ReadAllTextAsync(keyPath + ".pub")).Trim()),
            DedalusJsonContext.Default.CreateSshSessionRequest);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        var session = System.Text.Json.JsonSerializer.Deserialize(body, DedalusJsonContext.Default.SshSession)!;
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        var connection = session.Connection!;
        await File.WriteAllTextAsync(keyPath + "-cert.pub", connection.UserCertificate + "\n");
        var knownHosts = _keys.WriteFile(name + "-known_hosts", $"@cert-authority {connection.HostTrust!.HostPattern} {connection.HostTrust.PublicKey}\n");
        return new Session(session.SessionId, connection, keyPath, knownHosts);
    }

    /// <summary>A certificate for a new key signed by <paramref name="ca"/>, for the machine of <paramref name="like"/>, with a serial nobody revoked.</summary>
    private async Task<Session> ForgeSessionAsync(SshPrivateKey ca, Session like, string name)
    {
        var keyPath = _keys.Combine(name);
        var keygen = await ProcessRunner.RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", keyPath);
        Assert.True(keygen.ExitCode == 0, keygen.ToString());
        var template = SshCertificate.Parse(like.Connection!.UserCertificate!);
        var certificate = new SshCertificateAuthority(ca).Issue(new SshCertificateSpec
        {
            Key = SshPublicKey.Parse((await File.ReadAllTextAsync(keyPath + ".pub")).Trim()),
            Type = SshCertificateType.User,
            Serial = (ulong)Random.Shared.NextInt64(1, long.MaxValue),
            KeyId = "forged",
            Principals = template.Principals,
            ValidAfter = DateTimeOffset.UtcNow.AddMinutes(-1),
            ValidBefore = DateTimeOffset.UtcNow.AddHours(1),
            Extensions = SshCertificateSpec.DefaultUserExtensions,
        });
        await File.WriteAllTextAsync(keyPath + "-cert.pub", certificate.ToOpenSshString() + "\n");
        return new Session("forged", like.Connection, keyPath, like.KnownHostsPath);
    }

    private async Task<SshSession> GetSessionAsync(string sessionId)
    {
        using var response = await _http.GetAsync(new Uri($"/v1/machines/{_server.MachineId}/ssh/{sessionId}", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return System.Text.Json.JsonSerializer.Deserialize(body, DedalusJsonContext.Default.SshSession)!;
    }

    private Task<ProcessResult> SshAsync(Session session, params string[] command) =>
        ProcessRunner.RunAsync(
            "ssh",
            CertificateSsh.Arguments(
                session.KeyPath, session.KnownHostsPath, session.Connection!.Port, $"{session.Connection.SshUsername}@{session.Connection.Endpoint}", command),
            timeout: TimeSpan.FromSeconds(90));

    private async Task<ProcessResult> SshOkAsync(Session session, params string[] command)
    {
        var result = await SshAsync(session, command);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    /// <summary>The host is verified and the certificate offered, and sshd refuses it.</summary>
    private async Task AssertLoginRefusedAsync(Session session)
    {
        var result = await SshAsync(session, "true");
        Assert.True(result.ExitCode == 255, result.ToString());
        Assert.DoesNotContain(HostKeyVerificationFailed, result.StandardError, StringComparison.Ordinal);
        Assert.Contains("Permission denied", result.StandardError, StringComparison.Ordinal);
    }

    private Task<ProcessResult> RotateAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(
            RealServer.Program,
            ["ca", "rotate", .. arguments, "--data-dir", _server.DataDirectory],
            environment: new Dictionary<string, string> { ["HOME"] = _home.Path, ["XDG_CONFIG_HOME"] = _home.Path, ["XDG_DATA_HOME"] = _home.Path },
            timeout: TimeSpan.FromSeconds(60));

    /// <summary>The end of the overlap of the user CA retired last, as <c>ca/user_ca.retired</c> records it.</summary>
    private DateTimeOffset TrustedUntilOfLastRetired()
    {
        var line = File.ReadAllLines(Path.Combine(_server.DataDirectory, "ca", "user_ca.retired")).Last(l => l.Length > 0 && !l.StartsWith('#'));
        return DateTimeOffset.Parse(line.Split(' ')[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
    }
}
