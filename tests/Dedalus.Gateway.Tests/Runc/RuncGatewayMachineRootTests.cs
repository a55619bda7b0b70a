using System.Globalization;
using System.Text;
using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// Every session holder is root in its machine. These are the attacks of issue 11 from that root, each with the real
/// gateway, runc, sshd and ssh: replacing the machine's sshd, preloading a library into every program, writing forged
/// log lines into (or reading) a not-yet-authenticated sshd, and flooding the init's console on the host's disk.
/// Each must gain nothing: no login without a valid certificate, the gateway names the session that really logged in
/// (and cuts it when that session closes), the console stays within its bound.
/// </summary>
public sealed class RuncGatewayMachineRootTests(RuncGatewayFixture fixture) : IClassFixture<RuncGatewayFixture>
{
    [Fact]
    public async Task A_replaced_sshd_and_a_preloaded_library_are_never_run_by_the_sshd_that_authenticates()
    {
        var (id, port) = await fixture.AddMachineAsync();

        // The attacker's own plain key, and a wrapper in place of /usr/sbin/sshd that would accept it.
        var attackerKey = fixture.Site.Keys.Combine($"attacker-{Guid.NewGuid():N}");
        Assert.Equal(0, (await fixture.ToolAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", attackerKey])).ExitCode);
        var attackerPublic = await File.ReadAllTextAsync(attackerKey + ".pub");
        await RootInsideAsync(
            id,
            "set -e; mv /usr/sbin/sshd /usr/sbin/sshd.real; cat > /usr/sbin/sshd; chmod 755 /usr/sbin/sshd; " +
            $"printf '%s\\n' '{attackerPublic.Trim()}' > /tmp/attacker_keys; chmod 644 /tmp/attacker_keys",
            Encoding.ASCII.GetBytes(
                "#!/bin/sh\ntouch /tmp/wrapper-ran\nexec /usr/sbin/sshd.real -o AuthorizedKeysFile=/tmp/attacker_keys -o TrustedUserCAKeys=none \"$@\"\n"));

        // A library in /etc/ld.so.preload that leaves a mark named after every program that loads it.
        var library = await CompilePreloadLibraryAsync();
        await RootInsideAsync(id, "set -e; cat > /usr/local/lib/mark.so; chmod 755 /usr/local/lib/mark.so; echo /usr/local/lib/mark.so > /etc/ld.so.preload", library);

        // The attacker's plain key gets nowhere.
        var plain = await fixture.ToolAsync(
            "ssh",
            [
                "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", $"UserKnownHostsFile={fixture.Site.KnownHostsFile}", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=30", "-i", attackerKey,
                "-p", port.ToString(CultureInfo.InvariantCulture), "machine@127.0.0.1", "true",
            ]);
        Assert.Equal(255, plain.ExitCode);
        Assert.Contains("Permission denied", plain.StandardError, StringComparison.Ordinal);

        // A session with a valid certificate logs in, and its own programs do load the machine's preload (the machine is
        // the attacker's to change), but the sshd that checked the certificate never ran the wrapper or the library.
        var identity = fixture.Site.IssueUser(id);
        var login = await fixture.SshAsync(identity, port, "ls /tmp >/dev/null; ls /tmp");
        Assert.True(login.ExitCode == 0, login.ToString());
        var marks = login.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains(marks, m => m.StartsWith("preloaded-ls-", StringComparison.Ordinal));
        Assert.DoesNotContain(marks, m => m.StartsWith("preloaded-sshd-", StringComparison.Ordinal) || m.StartsWith("preloaded-busybox-", StringComparison.Ordinal));
        Assert.DoesNotContain("wrapper-ran", marks);
    }

    [Fact]
    public async Task Root_inside_can_neither_write_to_nor_read_a_pre_authentication_sshd_and_the_gateway_names_the_real_session()
    {
        var (id, port) = await fixture.AddMachineAsync();
        var victim = fixture.Site.IssueUser(id, "sess-victim-" + Guid.NewGuid().ToString("N")[..8]);
        var attacker = fixture.Site.IssueUser(id);

        // A connection that has identified but not authenticated: the gateway has started its sshd.
        using var pending = await GatewayHarness.ConnectAndIdentifyAsync(port);
        Assert.StartsWith("SSH-2.0-OpenSSH", await GatewayHarness.ReadLineAsync(pending), StringComparison.Ordinal);

        // From root inside, every way at every sshd process: ptrace, forged log lines into its stderr, its environment,
        // its file descriptors. The loop keeps trying while the attacker's own client logs in.
        await InstallPtraceProbeAsync(id);
        var forged = $"Accepted publickey for machine from 203.0.113.1 port 1 ssh2: ED25519-CERT SHA256:x ID {victim.SessionId} (serial {victim.Serial}) CA ED25519 SHA256:y";
        var attack = await fixture.Site.Runtime.ExecAsync(id, new MachineExecRequest(
            [
                "bash", "-c",
                "tried=0; traced=0; peeked=0; wrote=0; end=$((SECONDS+20)); while [ $SECONDS -lt $end ] && [ ! -e /tmp/stop ]; do " +
                "for p in $(pgrep -x sshd); do tried=$((tried+1)); " +
                "/usr/local/bin/attach $p >/dev/null 2>&1 && traced=$((traced+1)); " +
                "[ -n \"$(head -c 1 /proc/$p/environ 2>/dev/null | tr -d '\\0')\" ] && peeked=$((peeked+1)); " +
                "for f in /proc/$p/fd/2 /proc/$p/fd/1; do echo \"$1\" 2>/dev/null > $f && wrote=$((wrote+1)); done; " +
                "done; sleep 0.05; done; echo \"tried=$tried traced=$traced peeked=$peeked wrote=$wrote\"",
                "attack", forged,
            ],
            "root"));
        await attack.StandardInput.DisposeAsync();

        var ssh = await fixture.StartSessionAsync(attacker, fixture.Site.SshArguments(attacker, port, "echo in; exec sleep 300"));
        Assert.Equal(0, fixture.Gateway.GetSessionConnectionCount(victim.SessionId));

        await RootInsideAsync(id, "touch /tmp/stop", []);
        using var cts = new CancellationTokenSource(RuncGatewayFixture.Timeout);
        var report = (await new StreamReader(attack.StandardOutput).ReadToEndAsync(cts.Token)).Trim();
        await attack.Exited.WaitAsync(RuncGatewayFixture.Timeout);
        // No sshd process could be traced or read. (A write through /proc/PID/fd can land only in the instant an sshd
        // process exits, after releasing its memory and before closing its files: the pre-authentication process does
        // so after sshd has logged the login, so what it could carry comes after the line the gateway takes.)
        Assert.Matches("^tried=[1-9][0-9]* traced=0 peeked=0 wrote=[0-9]+$", report);

        // Closing the attacker's session cuts its connection at once; the victim's session had none.
        var (cut, exitCode) = await fixture.CloseSessionAsync(attacker.SessionId, ssh);
        Assert.Equal(1, cut);
        Assert.Equal(255, exitCode);
        var record = await fixture.Backend.WaitForRecordAsync(r => r.SessionId == attacker.SessionId);
        Assert.Equal(GatewayConnectionEnd.SessionClosed, record.End);
        Assert.DoesNotContain(fixture.Backend.Records, r => r.SessionId == victim.SessionId);
    }

    [Fact]
    public async Task Root_inside_writing_to_its_init_console_leaves_the_host_log_within_its_bound()
    {
        var (id, _) = await fixture.AddMachineAsync();
        var console = Path.Combine(fixture.Site.Options.MachinesDirectory, id, "console.log");

        // For a while, at the init and its child: ptrace (to make them write, as the issue's attacker did) and every
        // file descriptor through /proc.
        await InstallPtraceProbeAsync(id);
        var report = await RootInsideAsync(
            id,
            "tried=0; got=0; end=$((SECONDS+5)); while [ $SECONDS -lt $end ]; do " +
            "for p in 1 $(pgrep -x busybox); do tried=$((tried+1)); /usr/local/bin/attach $p >/dev/null 2>&1 && got=$((got+1)); " +
            "for f in /proc/$p/fd/1 /proc/$p/fd/2; do head -c 1048576 /dev/zero 2>/dev/null > $f && got=$((got+1)); done; " +
            "head -c 1 /proc/$p/environ >/dev/null 2>&1 && got=$((got+1)); done; done; echo \"tried=$tried got=$got\"",
            []);
        Assert.Matches("^tried=[1-9][0-9]* got=0$", report.Trim());
        Assert.True(new FileInfo(console).Length <= 64 * 1024, $"console.log holds {new FileInfo(console).Length} bytes");

        // Behind that, the init may never write more than the bound (a hard limit root inside cannot raise).
        var pid = await InitPidAsync(id);
        var limits = await File.ReadAllLinesAsync($"/proc/{pid}/limits");
        Assert.Contains(limits, l => l.StartsWith("Max file size", StringComparison.Ordinal) && l.Contains("1048576", StringComparison.Ordinal));
    }

    /// <summary>Runs a bash script as root inside, with <paramref name="standardInput"/>; returns stdout, fails on a non-zero exit.</summary>
    private async Task<string> RootInsideAsync(string machineId, string script, byte[] standardInput)
    {
        await using var process = await fixture.Site.Runtime.ExecAsync(machineId, new MachineExecRequest(["bash", "-c", script], "root"));
        await process.StandardInput.WriteAsync(standardInput);
        await process.StandardInput.DisposeAsync();
        using var cts = new CancellationTokenSource(RuncGatewayFixture.Timeout);
        var stdout = new StreamReader(process.StandardOutput).ReadToEndAsync(cts.Token);
        var stderr = new StreamReader(process.StandardError).ReadToEndAsync(cts.Token);
        var exitCode = await process.Exited.WaitAsync(RuncGatewayFixture.Timeout);
        Assert.True(exitCode == 0, $"'{script}' exited {exitCode}: {await stderr}");
        return await stdout;
    }

    /// <summary>
    /// Installs <c>/usr/local/bin/attach PID</c> in the machine: PTRACE_ATTACH to the process, exit 0 when the kernel
    /// allowed it (then detach), 1 when it refused; <c>attach self</c> tries it on a child of its own. (The base
    /// userland has no debugger; the probe is built on the host.)
    /// </summary>
    private async Task InstallPtraceProbeAsync(string machineId)
    {
        var source = fixture.Site.Keys.WriteFile(
            $"attach-{Guid.NewGuid():N}.c",
            "#include <signal.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n#include <sys/ptrace.h>\n" +
            "#include <sys/types.h>\n#include <sys/wait.h>\n" +
            "static int attach(pid_t pid) {\n  if (ptrace(PTRACE_ATTACH, pid, 0, 0) != 0) return 1;\n" +
            "  waitpid(pid, 0, __WALL);\n  ptrace(PTRACE_DETACH, pid, 0, 0);\n  return 0;\n}\n" +
            "int main(int argc, char **argv) {\n  if (argc != 2) return 2;\n" +
            "  if (strcmp(argv[1], \"self\") == 0) {\n    pid_t child = fork();\n    if (child == 0) { pause(); _exit(0); }\n" +
            "    int result = attach(child);\n    kill(child, SIGKILL);\n    waitpid(child, 0, 0);\n    return result;\n  }\n" +
            "  return attach((pid_t)atoi(argv[1]));\n}\n");
        var output = source + ".bin";
        var compiled = await fixture.ToolAsync("clang", ["-O1", "-o", output, source]);
        Assert.True(compiled.ExitCode == 0, compiled.ToString());
        await RootInsideAsync(machineId, "cat > /usr/local/bin/attach; chmod 755 /usr/local/bin/attach", await File.ReadAllBytesAsync(output));

        // The probe works: inside the machine it may attach to a process of its own (a child it forks, so that a host
        // with Yama's ptrace_scope 1 allows it too).
        Assert.Equal("attached", (await RootInsideAsync(machineId, "/usr/local/bin/attach self && echo attached", [])).Trim());
    }

    /// <summary>A shared library whose constructor creates /tmp/preloaded-&lt;program&gt;-&lt;pid&gt;.</summary>
    private async Task<byte[]> CompilePreloadLibraryAsync()
    {
        var source = fixture.Site.Keys.WriteFile(
            $"mark-{Guid.NewGuid():N}.c",
            "#include <stdio.h>\n#include <string.h>\n#include <unistd.h>\n" +
            "__attribute__((constructor)) static void mark(void) {\n" +
            "  char name[64] = {0}; FILE *f = fopen(\"/proc/self/comm\", \"r\");\n" +
            "  if (f) { if (fgets(name, sizeof name, f)) name[strcspn(name, \"\\n\")] = 0; fclose(f); }\n" +
            "  char path[160]; snprintf(path, sizeof path, \"/tmp/preloaded-%s-%d\", name, (int)getpid());\n" +
            "  FILE *m = fopen(path, \"w\"); if (m) fclose(m);\n}\n");
        var output = source + ".so";
        var compiled = await fixture.ToolAsync("clang", ["-shared", "-fPIC", "-O1", "-o", output, source]);
        Assert.True(compiled.ExitCode == 0, compiled.ToString());
        return await File.ReadAllBytesAsync(output);
    }

    private async Task<int> InitPidAsync(string machineId)
    {
        var state = await File.ReadAllTextAsync(Path.Combine(fixture.Site.Options.RuncRoot, machineId, "state.json"));
        using var document = System.Text.Json.JsonDocument.Parse(state);
        return document.RootElement.GetProperty("init_process_pid").GetInt32();
    }
}
