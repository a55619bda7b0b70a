using System.Diagnostics;
using System.Net;
using System.Text;
using Dedalus.Contracts;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Hosting;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

/// <summary>
/// Reboot and RAM autoresizing against real runc machines, through the API: what a reboot keeps and what it resets,
/// with and without <c>force</c>; a process that allocates past its machine's first limit survives with autoresizing on
/// (and the <c>status.memory_*</c> fields show the raise) and is OOM-killed with it off.
/// </summary>
public sealed class RebootAutoresizeRuncTests
{
    private const string TrapLoop = "trap 'echo bye > /home/machine/{0}; exit 0' TERM; while :; do sleep 0.1; done";

    [Fact]
    public async Task A_reboot_keeps_id_and_home_resets_root_and_processes_and_lets_them_exit_unless_forced()
    {
        await using var server = await ExecutionServer.StartAsync("reboot", "--Dedalus:RebootGrace", "00:00:30");
        var machine = await server.CreateRunningMachineFromAsync("""{"vcpu":0.5,"memory_mib":512,"storage_gib":1,"name":"rebooter"}""");
        await RunAsync(server, machine, "echo kept > /home/machine/kept && echo gone > /var/tmp/gone");
        var runtime = Runtime(server);
        await using (var trap = await runtime.ExecAsync(StoreIds.StoreId(machine), new MachineExecRequest(["sh", "-c", string.Format(TrapLoop, "bye")])))
        {
            Assert.True(await WaitForCountAsync(server, machine, "while :; do sleep", 1));

            var answer = await RebootAsync(server, "rebooter", force: false);
            var after = await WaitRebootedAsync(server, machine, answer);

            Assert.Equal(machine, after.MachineId);
            Assert.Equal("rebooter", after.Name);
        }

        Assert.Equal("bye", await OutputAsync(server, machine, "cat /home/machine/bye"));
        Assert.Equal("kept", await OutputAsync(server, machine, "cat /home/machine/kept"));
        Assert.Equal("absent", await OutputAsync(server, machine, "test -e /var/tmp/gone && echo present || echo absent"));
        Assert.Equal(0, await server.CountProcessesAsync(machine, "while :; do sleep"));

        // Forced: the process gets no SIGTERM.
        await using (var trap = await runtime.ExecAsync(StoreIds.StoreId(machine), new MachineExecRequest(["sh", "-c", string.Format(TrapLoop, "forced")])))
        {
            Assert.True(await WaitForCountAsync(server, machine, "while :; do sleep", 1));
            var answer = await RebootAsync(server, machine, force: true);
            await WaitRebootedAsync(server, machine, answer);
        }

        Assert.Equal("absent", await OutputAsync(server, machine, "test -e /home/machine/forced && echo present || echo absent"));
        Assert.Equal(0, await server.CountProcessesAsync(machine, "while :; do sleep"));
    }

    [Fact]
    public async Task An_allocation_past_the_first_limit_survives_with_autoresizing_on_and_is_oom_killed_with_it_off()
    {
        await using var server = await ExecutionServer.StartAsync("autoresize", "--Dedalus:AutoresizeCeilingFactor", "4");
        const string Small = """{"vcpu":0.5,"memory_mib":128,"storage_gib":1}""";
        var on = await server.CreateRunningMachineFromAsync(Small);
        Assert.Equal(128, (await server.WaitForPhaseAsync(on, MachinePhases.Running)).MemoryMib);
        await PutAsync(server, $"/v1/machines/{on}/autoresizing", """{"enabled":true}""");

        // 160 MiB of anonymous memory in one string, touched: more than the 128 MiB the machine starts with.
        const string Allocate = "perl -e '$x = \"a\" x (160*1024*1024); print length($x)'";
        var (grown, grownOutput) = await server.RunAsync(on, new { command = new[] { "sh", "-c", Allocate } });
        var status = (await server.WaitForPhaseAsync(on, MachinePhases.Running)).Status;

        Assert.True(grown.Status == ExecutionStatuses.Succeeded, $"{grown.Status} {grown.ErrorCode} {grown.Signal} {grown.ExitCode}");
        Assert.Equal((160 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), grownOutput.Stdout);
        Assert.True(status.MemoryConfiguredMib > 128, $"memory_configured_mib {status.MemoryConfiguredMib}");
        Assert.Equal(status.MemoryConfiguredMib, status.MemoryAssignedMib);
        Assert.NotNull(status.MemoryLastAutoresizedAt);
        Assert.Equal(MemoryResizeStates.Stable, status.MemoryResizeState);

        // The same machine size with autoresizing off (the org's default): the kernel's OOM killer ends it.
        var small = await server.CreateRunningMachineFromAsync(Small);
        var (killed, _) = await server.RunAsync(small, new { command = new[] { "sh", "-c", Allocate } });
        var unchanged = (await server.WaitForPhaseAsync(small, MachinePhases.Running)).Status;

        Assert.True(killed.Status == ExecutionStatuses.Failed && (killed.Signal == 9 || killed.ExitCode == 137), $"{killed.Status} {killed.Signal} {killed.ExitCode}");
        Assert.Equal(128, unchanged.MemoryConfiguredMib);
        Assert.Null(unchanged.MemoryLastAutoresizedAt);
    }

    private static RuncMachineRuntime Runtime(ExecutionServer server) => new(new RuncRuntimeOptions
    {
        DataDirectory = ServerConfiguration.RuntimeDirectory(new ServerOptions { DataDirectory = server.DataDirectory }),
    });

    private static async Task RunAsync(ExecutionServer server, string machine, string script)
    {
        var (execution, output) = await server.RunAsync(machine, new { command = new[] { "sh", "-c", script } });
        Assert.True(execution.Status == ExecutionStatuses.Succeeded, $"{script}: {execution.Status} {output.Stderr}");
    }

    private static async Task<string> OutputAsync(ExecutionServer server, string machine, string script)
    {
        var (_, output) = await server.RunAsync(machine, new { command = new[] { "sh", "-c", script } });
        return (output.Stdout ?? string.Empty).Trim();
    }

    private static async Task<bool> WaitForCountAsync(ExecutionServer server, string machine, string pattern, int count)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < ExecutionServer.Bound)
        {
            if (await server.CountProcessesAsync(machine, pattern) == count)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private static async Task<Machine> RebootAsync(ExecutionServer server, string machine, bool force)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/machines/{machine}/reboot" + (force ? "?force=true" : string.Empty));
        using var response = await server.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return System.Text.Json.JsonSerializer.Deserialize(body, DedalusJsonContext.Default.Machine)!;
    }

    /// <summary>Waits until the reboot asked for in <paramref name="answer"/> has run: running again at a later revision.</summary>
    private static async Task<Machine> WaitRebootedAsync(ExecutionServer server, string machine, Machine answer)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var now = await server.WaitForPhaseAsync(machine, MachinePhases.Running);
            if (long.Parse(now.Status.Revision, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(answer.Status.Revision, System.Globalization.CultureInfo.InvariantCulture)
                && now.Status.Reason == "running")
            {
                return now;
            }

            Assert.True(clock.Elapsed < ExecutionServer.Bound, $"no reboot after {clock.Elapsed}: {now.Status.Reason}");
            await Task.Delay(50);
        }
    }

    private static async Task PutAsync(ExecutionServer server, string path, string json)
    {
        using var response = await server.Http.PutAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
