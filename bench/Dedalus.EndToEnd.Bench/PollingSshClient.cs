using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Dedalus.Contracts;
using Dedalus.Testing;

namespace Dedalus.EndToEnd.Bench;

/// <summary>
/// A client that does what the official CLIs' <c>dedalus ssh</c> does (dedalus-api.md §5.1, §5.2): a new key by
/// <c>ssh-keygen</c>, <c>POST /v1/machines/{id}/ssh</c>, then while the session is <c>wake_in_progress</c> or
/// <c>ssh_in_progress</c> sleep <c>retry_after_ms</c> (500 ms when absent or 0) and GET it again; once ready, write the
/// certificate and the <c>@cert-authority</c> known_hosts line and run <c>ssh ... -- true</c> with the Go CLI's options.
/// No status stream, no session close (the official clients leave sessions to expire).
/// </summary>
internal sealed class PollingSshClient(HttpClient http, string machineId, string work, TimeSpan timeout)
{
    /// <summary>One run, from the key to ssh's exit; returns the wall time in ms and the number of GETs it made.</summary>
    public async Task<(double Ms, int Polls)> RunAsync(int run)
    {
        var clock = Stopwatch.StartNew();
        var directory = Path.Combine(work, "polling-" + run.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(directory);
        var key = Path.Combine(directory, "key");
        var keygen = await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key], timeout: timeout);
        Check(keygen.ExitCode == 0, $"ssh-keygen: {keygen}");

        var path = $"v1/machines/{machineId}/ssh";
        using var create = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = JsonContent.Create(new CreateSshSessionRequest(File.ReadAllText(key + ".pub").Trim()), DedalusJsonContext.Default.CreateSshSessionRequest),
        };
        create.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        var session = await SendAsync(create);
        var polls = 0;
        while (session.Status is SshSessionStatuses.WakeInProgress or SshSessionStatuses.SshInProgress)
        {
            Check(polls++ < 120 && clock.Elapsed < timeout, $"session {session.SessionId} not ready after {polls} polls");
            await Task.Delay(session.RetryAfterMs is > 0 and var ms ? TimeSpan.FromMilliseconds(ms) : TimeSpan.FromMilliseconds(500));
            using var get = new HttpRequestMessage(HttpMethod.Get, $"{path}/{session.SessionId}");
            session = await SendAsync(get);
        }

        Check(session.Status == SshSessionStatuses.Ready && session.Connection?.UserCertificate is not null && session.Connection.HostTrust is not null, $"session not ready: {session}");
        var connection = session.Connection!;
        File.WriteAllText(key + "-cert.pub", connection.UserCertificate!.Trim() + "\n");
        var knownHosts = Path.Combine(directory, "known_hosts");
        File.WriteAllText(knownHosts, $"@cert-authority {connection.HostTrust!.HostPattern} {connection.HostTrust.PublicKey}\n");
        var ssh = await ProcessRunner.RunAsync(
            "ssh",
            [
                "-i", key, "-o", $"CertificateFile={key}-cert.pub", "-o", $"UserKnownHostsFile={knownHosts}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-p", connection.Port.ToString(CultureInfo.InvariantCulture), "--", $"{connection.SshUsername}@{connection.Endpoint}", "true",
            ],
            timeout: timeout);
        var elapsed = clock.Elapsed.TotalMilliseconds;
        Check(ssh.ExitCode == 0, $"ssh: {ssh}");
        Directory.Delete(directory, recursive: true);
        return (elapsed, polls);
    }

    private async Task<SshSession> SendAsync(HttpRequestMessage request)
    {
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Check(response.IsSuccessStatusCode, $"{request.Method} {request.RequestUri}: {(int)response.StatusCode} {body}");
        return System.Text.Json.JsonSerializer.Deserialize(body, DedalusJsonContext.Default.SshSession)!;
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }
}
