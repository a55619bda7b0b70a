using System.Text;

namespace Dedalus.Machines.Tests;

/// <summary>Executions in real runc machines: exact exit status, argv, stdin, cwd and env, and the process group.</summary>
public sealed class MachineExecutionTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_exit_status_is_exact_a_code_above_128_is_not_a_signal()
    {
        var id = await fixture.StartMachineAsync();

        Assert.Equal(MachineExitStatus.Exit(0), (await RunAsync(id, ["true"])).Status);
        Assert.Equal(MachineExitStatus.Exit(130), (await RunAsync(id, ["sh", "-c", "exit 130"])).Status);
        Assert.Equal(MachineExitStatus.Killed(15), (await RunAsync(id, ["sh", "-c", "kill -TERM $$"])).Status);
        Assert.Equal(MachineExitStatus.Killed(9), (await RunAsync(id, ["sh", "-c", "kill -KILL $$"])).Status);
    }

    [Fact]
    public async Task Argv_stdin_cwd_and_env_reach_the_command_as_given_and_nothing_else_of_the_environment()
    {
        var id = await fixture.StartMachineAsync();

        string[] tricky = ["a b", "q'\"$HOME`x`", "line1\nline2", "", "*"];
        var argv = await RunAsync(id, ["printf", "[%s]\\n", .. tricky]);
        Assert.Equal(string.Concat(tricky.Select(a => $"[{a}]\n")), argv.Stdout);

        var stdin = await RunAsync(id, ["sh", "-c", "id -un; pwd; cat"], cwd: "/tmp", stdin: "from stdin\n");
        Assert.Equal("machine\n/tmp\nfrom stdin\n", stdin.Stdout);

        var env = await RunAsync(id, ["env"], env: new Dictionary<string, string> { ["GREETING"] = "hello world", ["PATH"] = "/usr/bin:/bin" });
        var level = await RunAsync(id, ["printenv", "SHLVL"], env: new Dictionary<string, string> { ["SHLVL"] = "7" });
        Assert.Equal("7\n", level.Stdout);
        var names = env.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..l.IndexOf('=', StringComparison.Ordinal)]).Order(StringComparer.Ordinal);
        Assert.Equal(["GREETING", "HOME", "LOGNAME", "PATH", "PWD", "SHELL", "USER"], names);
        Assert.Contains("GREETING=hello world\n", env.Stdout, StringComparison.Ordinal);
        Assert.Contains("PATH=/usr/bin:/bin\n", env.Stdout, StringComparison.Ordinal);
        Assert.Contains("HOME=/home/machine\n", env.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bare_name_runs_the_machines_program_from_path_with_its_own_name_as_argv0()
    {
        var id = await fixture.StartMachineAsync();

        // busybox (the shim) has applets of these names: the machine's own programs must run, never the applets.
        Assert.Equal("/usr/bin/readlink\n", (await RunAsync(id, ["readlink", "/proc/self/exe"])).Stdout);
        Assert.Equal("cat\0/proc/self/cmdline\0", (await RunAsync(id, ["cat", "/proc/self/cmdline"])).Stdout);
        Assert.Equal(new string('\0', 5), (await RunAsync(id, ["head", "-c", "5", "/dev/zero"])).Stdout);
        var tool = await RunAsync(id, ["sh", "-c", "printf '#!/bin/sh\\necho mine\\n' > /tmp/mytool; chmod +x /tmp/mytool"]);
        Assert.Equal(MachineExitStatus.Exit(0), tool.Status);
        Assert.Equal("mine\n", (await RunAsync(id, ["mytool"], env: new Dictionary<string, string> { ["PATH"] = "/tmp:/usr/bin:/bin" })).Stdout);

        var missing = await RunAsync(id, ["no-such-program"]);
        Assert.Equal(MachineExitStatus.Exit(127), missing.Status);
        Assert.Contains("no-such-program: command not found", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_working_directory_is_a_clear_start_error()
    {
        var id = await fixture.StartMachineAsync();

        var error = await Assert.ThrowsAsync<MachineRuntimeException>(
            () => fixture.Runtime.StartExecutionAsync(id, Request(["true"], cwd: "/no/such/dir")));

        Assert.Contains("/no/such/dir", error.Message, StringComparison.Ordinal);
        Assert.Contains("could not start", error.Message, StringComparison.Ordinal);
        Assert.Contains("the working directory /no/such/dir does not exist", error.Message, StringComparison.Ordinal);
        Assert.Empty(ExecutionGroups(id));
    }

    [Fact]
    public async Task The_group_holds_every_process_the_command_started_daemonized_and_deaf_to_term_alike()
    {
        var id = await fixture.StartMachineAsync();
        await using var execution = await fixture.Runtime.StartExecutionAsync(
            id, Request(["sh", "-c", "trap '' TERM; setsid sh -c \"trap '' TERM; exec sleep 1001\" </dev/null >/dev/null 2>&1 & sleep 1002 & echo up; wait"]));
        var stdout = new StreamReader(execution.StandardOutput);
        Assert.Equal("up", await stdout.ReadLineAsync().WaitAsync(Bound));
        Assert.True(await WaitForAsync(async () => (await CountAsync(id, "sleep 100[12]")) == 2));

        // TERM reaches all; the shell and the detached sleep ignore it.
        Assert.True(execution.Signal(15) >= 3);
        await Task.Delay(200);
        Assert.False(execution.Exited.IsCompleted);
        Assert.Equal(1, await CountAsync(id, "sleep 1001"));

        Assert.True(await execution.KillAllAsync(Bound));
        Assert.Equal(MachineExitStatus.Killed(9), await execution.Exited.WaitAsync(Bound));
        Assert.Equal(0, await CountAsync(id, "sleep 100[12]"));
    }

    [Fact]
    public async Task Processes_left_behind_by_a_finished_command_keep_running_and_its_group_goes()
    {
        var id = await fixture.StartMachineAsync();
        await using var execution = await fixture.Runtime.StartExecutionAsync(
            id, Request(["sh", "-c", "sleep 1003 </dev/null >/dev/null 2>&1 & echo started"]));
        var stdout = await new StreamReader(execution.StandardOutput).ReadToEndAsync().WaitAsync(Bound);

        Assert.Equal("started\n", stdout);
        Assert.Equal(MachineExitStatus.Exit(0), await execution.Exited.WaitAsync(Bound));
        await execution.ReleaseAsync();
        Assert.Empty(ExecutionGroups(id));
        Assert.Equal(1, await CountAsync(id, "sleep 1003"));

        // Sleep ends them with the machine, and leaves no group behind.
        await fixture.Runtime.StopAsync(id).WaitAsync(Bound);
        Assert.False(Directory.Exists(MachineGroup(id)) && ExecutionGroups(id).Count > 0);
    }

    [Fact]
    public async Task A_later_process_ends_an_execution_by_its_name_and_a_sleep_ends_every_execution()
    {
        var id = await fixture.StartMachineAsync();
        var name = NewName();
        await using var first = await fixture.Runtime.StartExecutionAsync(id, Request(["sleep", "1004"], name: name));
        await using var second = await fixture.Runtime.StartExecutionAsync(id, Request(["sleep", "1005"]));
        Assert.Equal(2, ExecutionGroups(id).Count);

        await fixture.Runtime.EndExecutionAsync(id, name).WaitAsync(Bound);
        Assert.Equal(MachineExitStatus.Killed(9), await first.Exited.WaitAsync(Bound));
        Assert.False(second.Exited.IsCompleted);
        await fixture.Runtime.EndExecutionAsync(id, name).WaitAsync(Bound);

        await fixture.Runtime.StopAsync(id).WaitAsync(Bound);
        Assert.Equal(MachineExitStatus.Killed(9), await second.Exited.WaitAsync(Bound));
        Assert.Empty(ExecutionGroups(id));
    }

    [Fact]
    public async Task Output_flows_while_the_command_runs_and_huge_output_is_read_to_the_end()
    {
        var id = await fixture.StartMachineAsync();
        await using var execution = await fixture.Runtime.StartExecutionAsync(id, Request(["sh", "-c", "echo first; read line; echo \"got $line\"; head -c 20000000 /dev/zero"]));
        var stdout = execution.StandardOutput;
        var buffer = new byte[6];
        await stdout.ReadExactlyAsync(buffer).AsTask().WaitAsync(Bound);
        Assert.Equal("first\n", Encoding.ASCII.GetString(buffer));

        await execution.StandardInput.WriteAsync("go\n"u8.ToArray());
        await execution.StandardInput.DisposeAsync();
        long total = 0;
        var chunk = new byte[65536];
        int read;
        while ((read = await stdout.ReadAsync(chunk).AsTask().WaitAsync(Bound)) > 0)
        {
            total += read;
        }

        Assert.Equal(7 + 20_000_000, total);
        Assert.Equal(MachineExitStatus.Exit(0), await execution.Exited.WaitAsync(Bound));
    }

    private static string NewName() => "t" + Guid.NewGuid().ToString("N")[..16];

    private static MachineExecutionRequest Request(string[] argv, string? cwd = null, Dictionary<string, string>? env = null, string? name = null) =>
        new(name ?? NewName(), argv, "machine", cwd, env ?? []);

    private async Task<(MachineExitStatus Status, string Stdout, string Stderr)> RunAsync(
        string id, string[] argv, string? cwd = null, Dictionary<string, string>? env = null, string? stdin = null)
    {
        await using var execution = await fixture.Runtime.StartExecutionAsync(id, Request(argv, cwd, env)).WaitAsync(Bound);
        var stdout = new StreamReader(execution.StandardOutput).ReadToEndAsync();
        var stderr = new StreamReader(execution.StandardError).ReadToEndAsync();
        if (stdin is not null)
        {
            await execution.StandardInput.WriteAsync(Encoding.UTF8.GetBytes(stdin));
        }

        await execution.StandardInput.DisposeAsync();
        var status = await execution.Exited.WaitAsync(Bound);
        var result = (status, await stdout.WaitAsync(Bound), await stderr.WaitAsync(Bound));
        await execution.ReleaseAsync();
        return result;
    }

    private async Task<int> CountAsync(string id, string pattern)
    {
        var result = await Tools.BashAsync(fixture.Runtime, id, $"pgrep -c -f '^(exec )?{pattern}' || true");
        return int.Parse(result.StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<bool> WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }

    private static string MachineGroup(string id) =>
        File.Exists("/sys/fs/cgroup/cgroup.controllers") ? $"/sys/fs/cgroup/dedalus/{id}" : $"/sys/fs/cgroup/unified/dedalus/{id}";

    private static IReadOnlyList<string> ExecutionGroups(string id) =>
        Directory.Exists(MachineGroup(id)) ? [.. Directory.EnumerateDirectories(MachineGroup(id), "x-*")] : [];
}
