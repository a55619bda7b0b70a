using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Dedalus.Contracts;
using Dedalus.Server.Console.Terminal;

namespace Dedalus.Console.Bench;

/// <summary>
/// The baseline: OpenSSH `ssh` to the machine through its gateway, on a pseudo-terminal of the server's own kind, with a
/// session and a certificate of its own and strict host checking against the session's host CA. Typing is a byte
/// written to the master; its echo is read from the master.
/// </summary>
internal sealed class SshOnPseudoTerminal : EchoingTerminal
{
    private readonly PseudoTerminal _terminal;
    private readonly string _directory;
    private readonly Task _reader;

    private SshOnPseudoTerminal(PseudoTerminal terminal, string directory, TimeSpan patience)
        : base(patience)
    {
        _terminal = terminal;
        _directory = directory;
        _reader = Task.Run(ReadAsync);
    }

    public static async Task<SshOnPseudoTerminal> StartAsync(string baseUrl, string apiKey, string machineId, TimeSpan patience)
    {
        var directory = Directory.CreateTempSubdirectory("dedalus-bench-ssh-").FullName;
        var key = Path.Combine(directory, "key");
        using (var keygen = Process.Start("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "console-bench", "-f", key]))
        {
            await keygen.WaitForExitAsync();
        }

        using var http = new HttpClient { BaseAddress = new Uri(baseUrl + "/"), Timeout = patience };
        http.DefaultRequestHeaders.Add("x-api-key", apiKey);
        var created = await http.PostAsJsonAsync(
            $"v1/machines/{Uri.EscapeDataString(machineId)}/ssh",
            new CreateSshSessionRequest(File.ReadAllText(key + ".pub").Trim()),
            DedalusJsonContext.Default.CreateSshSessionRequest);
        created.EnsureSuccessStatusCode();
        var session = (await created.Content.ReadFromJsonAsync(DedalusJsonContext.Default.SshSession))!;
        var deadline = DateTime.UtcNow + patience;
        while (session.Status != SshSessionStatuses.Ready && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            session = (await http.GetFromJsonAsync($"v1/machines/{Uri.EscapeDataString(machineId)}/ssh/{session.SessionId}", DedalusJsonContext.Default.SshSession))!;
        }

        var connection = session.Connection ?? throw new InvalidOperationException($"session {session.SessionId} is {session.Status}, not ready");
        File.WriteAllText(key + "-cert.pub", connection.UserCertificate!.Trim() + "\n");
        var knownHosts = Path.Combine(directory, "known_hosts");
        File.WriteAllText(knownHosts, $"@cert-authority {connection.HostTrust!.HostPattern} {connection.HostTrust.PublicKey}\n");

        var terminal = PseudoTerminal.Open(120, 40);
        terminal.Start(
            "ssh",
            [
                "-F", "/dev/null", "-i", key, "-o", $"CertificateFile={key}-cert.pub", "-o", $"UserKnownHostsFile={knownHosts}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes", "-o", "IdentityAgent=none", "-o", "EscapeChar=none",
                "-p", connection.Port.ToString(CultureInfo.InvariantCulture), $"{connection.SshUsername}@{connection.Endpoint}",
            ],
            new Dictionary<string, string?>(StringComparer.Ordinal) { ["TERM"] = "xterm-256color" });
        var ssh = new SshOnPseudoTerminal(terminal, directory, patience);
        await ssh.WaitForPromptAsync();
        return ssh;
    }

    protected override async Task SendAsync(byte[] bytes)
    {
        await _terminal.Master.WriteAsync(bytes);
        await _terminal.Master.FlushAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        // Killed and reaped first, then the server-side slave closed: the reader gets the end of the output.
        _terminal.Kill();
        _terminal.Child?.WaitForExit(TimeSpan.FromSeconds(10));
        _terminal.CloseSlave();
        await _reader.WaitAsync(Patience).ConfigureAwait(false);
        _terminal.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await _terminal.Master.ReadAsync(buffer);
                if (read == 0)
                {
                    break;
                }

                Received(buffer[..read]);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The terminal closed.
        }

        Ended();
    }
}
