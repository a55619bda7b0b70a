using System.Diagnostics;

namespace Dedalus.Cli.Tests;

/// <summary><c>dedalus ssh</c> end to end with real ssh and sshd (certificates signed by ssh-keygen).</summary>
public sealed class CliSshTests(FakeMachinesFixture fixture) : IClassFixture<FakeMachinesFixture>, IDisposable
{
    private readonly CliProgram _cli = CreateCli(fixture.Fake);

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Ssh_runs_the_remote_command_prints_its_output_closes_the_session_and_leaves_no_temp_files()
    {
        var closedBefore = fixture.Fake.SessionsClosed;
        var result = await _cli.RunAsync("ssh", Samples.MachineId, "--", "echo", "hi");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hi\n", result.StandardOutput);
        Assert.Equal(string.Empty, result.StandardError);
        Assert.Empty(_cli.Leftovers());

        // The close is handed to a detached child so the prompt returns at once; it still happens.
        var clock = Stopwatch.StartNew();
        while (fixture.Fake.SessionsClosed < closedBefore + 1 && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        Assert.Equal(closedBefore + 1, fixture.Fake.SessionsClosed);
    }

    [Fact]
    public async Task Ssh_passes_the_remote_exit_code_through()
    {
        var result = await _cli.RunAsync("ssh", Samples.MachineId.Replace("dm-", "", StringComparison.Ordinal), "--", "exit", "7");

        Assert.True(result.ExitCode == 7, result.ToString());
        Assert.Empty(_cli.Leftovers());
    }

    [Fact]
    public async Task Ssh_waits_through_a_wake_and_reports_timing()
    {
        fixture.Fake.Asleep = true;
        try
        {
            var result = await _cli.RunAsync("ssh", "--timing", Samples.MachineId, "--", "echo", "awake");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("awake\n", result.StandardOutput);
            // Every phase has a figure (ssh's own read from its -v lines, which are not shown), and nothing else is printed.
            Assert.Matches(
                @"^timing: key \d+ ms, create \d+ ms, wake \d+ ms, files \d+ ms, ssh start \d+ ms, tcp \d+ ms, banner \d+ ms, kex \d+ ms, auth \d+ ms, first byte \d+ ms, exit \d+ ms, close \d+ ms \(detached\), total \d+ ms\n$",
                result.StandardError);
            Assert.Empty(_cli.Leftovers());
        }
        finally
        {
            fixture.Fake.Asleep = false;
        }
    }

    [Fact]
    public async Task Ssh_failure_passes_ssh_exit_code_and_still_removes_the_temp_dir()
    {
        // An option ssh rejects makes ssh itself fail (exit 255) after the files were written.
        var result = await _cli.RunAsync("ssh", Samples.MachineId, "-o", "NoSuchOption=yes", "--", "true");

        Assert.Equal(255, result.ExitCode);
        Assert.Empty(_cli.Leftovers());
    }

    [Fact]
    public async Task Extra_ssh_options_are_passed_through()
    {
        var result = await _cli.RunAsync("ssh", Samples.MachineId, "-o", "SetEnv=DEDALUS_TEST=passed", "-T", "--", "echo", "$DEDALUS_TEST");

        // sshd does not accept SetEnv without AcceptEnv, so the variable stays empty; the point is that ssh
        // parsed the option (an unknown one fails, see above) and -T did not break the command.
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty(_cli.Leftovers());
    }

    [Theory]
    [InlineData("SIGINT", 130)]
    [InlineData("SIGTERM", 143)]
    [InlineData("SIGHUP", 129)]
    public async Task A_signal_stops_ssh_removes_the_temp_dir_and_exits_with_128_plus_the_signal(string signal, int expected)
    {
        await using var process = _cli.Start("ssh", Samples.MachineId, "--", "echo started; sleep 30");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await process.StandardOutput.ReadLineAsync(cts.Token);
        Assert.Equal("started", line);
        Assert.NotEmpty(_cli.Leftovers());

        await process.SignalAsync(signal[3..]);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(expected, process.ExitCode);
        Assert.EndsWith("dedalus: cancelled\n", await process.StandardError.ReadToEndAsync(cts.Token), StringComparison.Ordinal);
        Assert.Empty(_cli.Leftovers());
    }

    [Fact]
    public async Task A_signal_while_waiting_for_a_wake_exits_130_without_leftovers()
    {
        fixture.Fake.Asleep = true;
        try
        {
            await using var process = _cli.Start("ssh", "--wait-timeout", "30", Samples.MachineId, "--", "true");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var sessions = fixture.Fake.SessionsCreated;
            var clock = Stopwatch.StartNew();
            while (fixture.Fake.SessionsCreated == sessions && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(20, cts.Token);
            }

            await process.SignalAsync("INT");
            await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal(130, process.ExitCode);
            Assert.Equal("dedalus: cancelled\n", await process.StandardError.ReadToEndAsync(cts.Token));
            Assert.Empty(_cli.Leftovers());
        }
        finally
        {
            fixture.Fake.Asleep = false;
        }
    }

    [Fact]
    public async Task Plain_ssh_scp_and_rsync_work_through_the_generated_ssh_config()
    {
        var generated = await _cli.RunAsync("ssh-config");
        Assert.True(generated.ExitCode == 0, generated.ToString());
        Assert.Contains("Match originalhost dm-*,????????-????-????-????-???????????? exec", generated.StandardOutput, StringComparison.Ordinal);
        var config = Path.Combine(_cli.Root, "ssh_config");
        File.WriteAllText(config, generated.StandardOutput);

        var ssh = await _cli.RunToolAsync("ssh", "-F", config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", Samples.MachineId, "echo", "via-config");
        Assert.True(ssh.ExitCode == 0, ssh.ToString());
        Assert.Equal("via-config\n", ssh.StandardOutput);

        var source = Path.Combine(_cli.Root, "payload.txt");
        File.WriteAllText(source, "payload\n");
        var scpTarget = Path.Combine(_cli.Root, "scp-copy.txt");
        var scp = await _cli.RunToolAsync("scp", "-F", config, "-o", "BatchMode=yes", source, $"{Samples.MachineId}:{scpTarget}");
        Assert.True(scp.ExitCode == 0, scp.ToString());
        Assert.Equal("payload\n", File.ReadAllText(scpTarget));

        var rsyncTarget = Path.Combine(_cli.Root, "rsync-copy.txt");
        var rsync = await _cli.RunToolAsync("rsync", "-e", $"ssh -F {config} -o BatchMode=yes", source, $"{Samples.MachineId}:{rsyncTarget}");
        Assert.True(rsync.ExitCode == 0, rsync.ToString());
        Assert.Equal("payload\n", File.ReadAllText(rsyncTarget));

        var knownHosts = File.ReadAllText(Path.Combine(_cli.SshCachePath, "known_hosts.d", Samples.MachineId));
        Assert.Equal($"@cert-authority [127.0.0.1]:* {fixture.Fake.Sshd.HostCaPublicKey}\n", knownHosts);
    }

    [Fact]
    public async Task Plain_ssh_refuses_a_host_whose_certificate_is_not_from_the_trusted_ca()
    {
        var generated = await _cli.RunAsync("ssh-config");
        var config = Path.Combine(_cli.Root, "ssh_config");
        File.WriteAllText(config, generated.StandardOutput);
        var first = await _cli.RunToolAsync("ssh", "-F", config, "-o", "BatchMode=yes", Samples.MachineId, "true");
        Assert.True(first.ExitCode == 0, first.ToString());

        // Replace the trusted host CA by another key: strict checking must refuse, with no prompt and no TOFU.
        var other = Path.Combine(_cli.Root, "other_ca");
        await Dedalus.Testing.ProcessRunner.RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other);
        var knownHosts = Path.Combine(_cli.SshCachePath, "known_hosts.d", Samples.MachineId);
        var hostsConf = File.ReadAllText(Path.Combine(_cli.SshCachePath, "hosts", Samples.MachineId + ".conf"));
        File.WriteAllText(knownHosts, "@cert-authority [127.0.0.1]:* " + File.ReadAllText(other + ".pub").Trim() + "\n");
        var pinned = Path.Combine(_cli.Root, "pinned_config");
        File.WriteAllText(pinned, hostsConf);

        var refused = await _cli.RunToolAsync("ssh", "-F", pinned, "-o", "BatchMode=yes", Samples.MachineId, "true");

        Assert.Equal(255, refused.ExitCode);
        Assert.Contains("Host key verification failed", refused.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_machine_gets_its_own_known_hosts_so_one_machines_host_certificate_is_refused_for_another()
    {
        var generated = await _cli.RunAsync("ssh-config");
        var config = Path.Combine(_cli.Root, "ssh_config");
        File.WriteAllText(config, generated.StandardOutput);
        var legacy = Path.Combine(_cli.SshCachePath, "known_hosts");
        Directory.CreateDirectory(_cli.SshCachePath);
        File.WriteAllText(legacy, $"@cert-authority [127.0.0.1]:* {fixture.Fake.Sshd.HostCaPublicKey}\n");

        // Both machines work, each through its own Host block.
        var first = await _cli.RunToolAsync("ssh", "-F", config, "-o", "BatchMode=yes", Samples.MachineId, "echo", "first");
        var other = await _cli.RunToolAsync("ssh", "-F", config, "-o", "BatchMode=yes", FakeMachinesApi.OtherMachineId, "echo", "other");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(other.ExitCode == 0, other.ToString());

        // Each known_hosts file names its own machine's CA and nothing else; the shared file of old is gone.
        Assert.Equal(
            $"@cert-authority [127.0.0.1]:* {fixture.Fake.Sshd.HostCaPublicKey}\n",
            File.ReadAllText(Path.Combine(_cli.SshCachePath, "known_hosts.d", Samples.MachineId)));
        Assert.Equal(
            $"@cert-authority [127.0.0.1]:* {fixture.Fake.OtherSshd.HostCaPublicKey}\n",
            File.ReadAllText(Path.Combine(_cli.SshCachePath, "known_hosts.d", FakeMachinesApi.OtherMachineId)));
        Assert.False(File.Exists(legacy));

        // The first machine takes the other's port (it serves its own host key and certificate, as its root could):
        // ssh to the other machine, with the other's Host block, refuses it. Both host patterns are the same
        // ([127.0.0.1]:*), so one shared known_hosts file holding both CA lines would have let it through.
        var otherBlock = File.ReadAllText(Path.Combine(_cli.SshCachePath, "hosts", FakeMachinesApi.OtherMachineId + ".conf"));
        var hijacked = Path.Combine(_cli.Root, "hijacked_config");
        File.WriteAllText(hijacked, otherBlock.Replace(
            $"Port {fixture.Fake.OtherSshd.Port}\n", $"Port {fixture.Fake.Sshd.Port}\n", StringComparison.Ordinal));
        Assert.NotEqual(otherBlock, File.ReadAllText(hijacked));

        var refused = await _cli.RunToolAsync("ssh", "-F", hijacked, "-o", "BatchMode=yes", FakeMachinesApi.OtherMachineId, "true");

        Assert.Equal(255, refused.ExitCode);
        Assert.Contains("Host key verification failed", refused.StandardError, StringComparison.Ordinal);
    }

    private static CliProgram CreateCli(FakeMachinesApi fake)
    {
        var cli = new CliProgram();
        cli.Environment["DEDALUS_BASE_URL"] = fake.Api.BaseUrl.ToString();
        cli.Environment["DEDALUS_API_KEY"] = FakeMachinesApi.GoodKey;
        return cli;
    }
}
