using Dedalus.Testing;

namespace Dedalus.Cli.Tests;

public sealed partial class CliRealServerTests
{
    [Fact]
    public async Task After_dedalus_ssh_returns_its_session_is_closed_soon_and_its_certificate_no_longer_logs_in()
    {
        // An `ssh` first on PATH that keeps a copy of the session's files and arguments, then runs the real one.
        var realSsh = Dedalus.Cli.Processes.Executables.Find("ssh")!;
        var bin = Path.Combine(_cli.Root, "bin");
        var capture = Path.Combine(_cli.Root, "capture");
        Directory.CreateDirectory(bin);
        File.WriteAllText(Path.Combine(bin, "ssh"), $$"""
            #!/bin/sh
            prev=
            for a in "$@"; do [ "$prev" = "-i" ] && dir=$(dirname "$a"); prev=$a; done
            cp -r "$dir" '{{capture}}'
            printf '%s\n' "$dir" "$@" > '{{capture}}.args'
            exec '{{realSsh}}' "$@"
            """);
        File.SetUnixFileMode(Path.Combine(bin, "ssh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _cli.Environment["PATH"] = bin + ":" + System.Environment.GetEnvironmentVariable("PATH");

        var result = await _cli.RunAsync("ssh", server.MachineId, "--", "true");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty(_cli.Leftovers());
        var lines = File.ReadAllLines(capture + ".args");
        var directory = lines[0];
        var arguments = lines.Skip(1).Select(a => a.Replace(directory, capture, StringComparison.Ordinal)).ToArray();

        // The detached closer closes the session within a generous bound.
        var sessions = await SessionStatusesAsync();
        for (var i = 0; i < 150 && sessions.Values.Contains(SshSessionStatuses.Ready); i++)
        {
            await Task.Delay(100);
            sessions = await SessionStatusesAsync();
        }

        Assert.DoesNotContain(SshSessionStatuses.Ready, sessions.Values);

        // The same key, certificate, known_hosts and options no longer log in.
        var again = await ProcessRunner.RunAsync(realSsh, ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", .. arguments], timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(255, again.ExitCode);
    }
}
