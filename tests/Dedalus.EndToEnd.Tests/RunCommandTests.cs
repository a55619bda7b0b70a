using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Dedalus.Testing;

namespace Dedalus.EndToEnd.Tests;

/// <summary>
/// The README's promise, executed as written: <c>./run -- COMMAND</c> on a clean data directory starts a dev server
/// (SQLite, runc machines), creates a machine, and runs the command in it over real OpenSSH through the gateway.
/// </summary>
public sealed partial class RunCommandTests : IAsyncLifetime
{
    private readonly RunScript _run = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _run.DisposeAsync();

    [Fact]
    public async Task Run_on_a_clean_data_directory_runs_the_command_in_a_machine_and_passes_its_exit_code_through()
    {
        var first = await _run.RunAsync(RunScript.FirstRunTimeout, "--", "uname", "-a");

        Assert.True(first.ExitCode == 0, first.ToString());
        var machineId = File.ReadAllText(_run.DemoMachineFile).Trim();
        Assert.Matches(MachineIdPattern(), machineId);
        // The kernel line, with the machine's own host name (dm-<its id>): the command ran inside the machine.
        Assert.Matches($"^Linux dm-{Regex.Escape(machineId)} \\S+ .*\\n$", first.StandardOutput);
        Assert.Contains("starting dev server", first.StandardError, StringComparison.Ordinal);
        Assert.Contains($"created demo machine {machineId}", first.StandardError, StringComparison.Ordinal);
        Assert.True(_run.ServerAlive(), "the dev server keeps running after ./run");

        var second = await _run.RunAsync(RunScript.RunTimeout, "--", "sh", "-c", "exit 7");

        Assert.True(second.ExitCode == 7, second.ToString());
        Assert.Contains("dev server already running", second.StandardError, StringComparison.Ordinal);
        Assert.Contains($"reusing demo machine {machineId}", second.StandardError, StringComparison.Ordinal);
        Assert.Equal(machineId, File.ReadAllText(_run.DemoMachineFile).Trim());
    }

    [Fact]
    public async Task Arguments_reach_the_machine_unchanged_and_one_argument_is_a_shell_command_line()
    {
        var vector = await _run.RunAsync(RunScript.FirstRunTimeout, "--", "printf", "[%s]", "a b", "it's", "$HOME", "*");

        Assert.True(vector.ExitCode == 0, vector.ToString());
        Assert.Equal("[a b][it's][$HOME][*]", vector.StandardOutput);

        var line = await _run.RunAsync(RunScript.RunTimeout, "--", "id -un; echo $HOME | tr a-z A-Z");

        Assert.True(line.ExitCode == 0, line.ToString());
        Assert.Equal("machine\n/HOME/MACHINE\n", line.StandardOutput);
    }

    [Fact]
    public async Task Stop_sleeps_the_machine_stops_the_server_and_unmounts_and_the_next_run_wakes_it_with_its_home_kept()
    {
        var write = await _run.RunAsync(RunScript.FirstRunTimeout, "--", "sh", "-c", "echo kept > \"$HOME/marker\"");
        Assert.True(write.ExitCode == 0, write.ToString());
        var machineId = File.ReadAllText(_run.DemoMachineFile).Trim();
        Assert.NotEmpty(_run.MountsBelowDataDirectory());
        var pid = _run.ReadServerPid();
        Assert.NotNull(pid);
        var network = await _run.NetworkObjectsAsync();
        Assert.Contains(network, o => o.StartsWith("nft table", StringComparison.Ordinal));
        Assert.Contains(network, o => o.StartsWith("netns", StringComparison.Ordinal));
        Assert.Contains(network, o => o.StartsWith("dnsmasq", StringComparison.Ordinal));

        var stop = await _run.RunAsync(RunScript.RunTimeout, "stop");

        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Contains($"putting machine {machineId} to sleep", stop.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"server pid {pid} is still alive after ./run stop");
        Assert.Empty(_run.MountsBelowDataDirectory());

        // The server removed its machine networking itself (./run's clean-up of a killed server's found nothing).
        Assert.True(await Eventually.TrueAsync(async () => (await _run.NetworkObjectsAsync()).Count == 0), string.Join(", ", await _run.NetworkObjectsAsync()));
        Assert.DoesNotContain("removed leftover machine networking", stop.StandardError, StringComparison.Ordinal);
        var status = await _run.RunAsync(RunScript.RunTimeout, "status");
        Assert.Contains("dev server: not running", status.StandardOutput, StringComparison.Ordinal);

        var read = await _run.RunAsync(RunScript.RunTimeout, "--", "cat", "/home/machine/marker");

        Assert.True(read.ExitCode == 0, read.ToString());
        Assert.Equal("kept\n", read.StandardOutput);
        Assert.Contains($"reusing demo machine {machineId} (sleeping", read.StandardError, StringComparison.Ordinal);
        Assert.True(_run.ServerAlive(), "./run started the server again");
    }

    [Fact]
    public async Task A_port_held_by_another_program_is_reported_and_nothing_starts()
    {
        using var other = new TcpListener(IPAddress.Loopback, _run.Port);
        other.Start();

        var result = await _run.RunAsync(RunScript.RunTimeout, "--", "true");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"port {_run.Port} on 127.0.0.1 is already in use by another program", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("DEDALUS_RUN_PORT", result.StandardError, StringComparison.Ordinal);
        Assert.False(_run.ServerAlive());
        Assert.False(File.Exists(_run.DemoMachineFile));
    }

    [Fact]
    public async Task Help_describes_the_commands_and_the_settings()
    {
        var help = await _run.RunAsync(RunScript.RunTimeout, "--help");

        Assert.Equal(0, help.ExitCode);
        foreach (var word in new[] { "./run -- COMMAND", "./run stop", "DEDALUS_RUN_DATA_DIR", "DEDALUS_RUN_PORT", "DEDALUS_RUN_GATEWAY_PORTS", "DEDALUS_RUN_SKIP_BUILD" })
        {
            Assert.Contains(word, help.StandardOutput, StringComparison.Ordinal);
        }

        var wrong = await _run.RunAsync(RunScript.RunTimeout, "uname");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("./run -- COMMAND", wrong.StandardError, StringComparison.Ordinal);
    }

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex MachineIdPattern();
}
