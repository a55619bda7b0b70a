using Dedalus.Machines.Runc;

namespace Dedalus.Machines.Tests;

public sealed class MachineLifecycleTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    [Fact]
    public async Task A_started_machine_is_named_after_its_id_and_its_machine_user_can_become_root()
    {
        var id = await fixture.StartMachineAsync();

        Assert.Equal(MachineRuntimeState.Running, await fixture.Runtime.GetStateAsync(id));
        Assert.Equal(id, (await Tools.ExecAsync(fixture.Runtime, id, ["hostname"])).StandardOutput.Trim());
        Assert.Equal("uid=1000(machine) gid=1000(machine) groups=1000(machine)", await Tools.BashCheckedAsync(fixture.Runtime, id, "id machine"));
        Assert.Equal("machine", await Tools.BashCheckedAsync(fixture.Runtime, id, "id -un", user: "machine"));
        Assert.Equal("/home/machine", await Tools.BashCheckedAsync(fixture.Runtime, id, "cd && pwd", user: "machine"));
        Assert.Equal("0", await Tools.BashCheckedAsync(fixture.Runtime, id, "sudo -n id -u", user: "machine"));
        // PID 1 is tini, which reaps.
        Assert.Contains("tini", await Tools.BashCheckedAsync(fixture.Runtime, id, "tr '\\0' ' ' </proc/1/cmdline"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_in_home_survives_sleep_wake_and_a_new_runtime_while_a_file_in_root_does_not()
    {
        var id = await fixture.StartMachineAsync();
        await Tools.BashCheckedAsync(fixture.Runtime, id, "echo kept > /home/machine/note && chown machine: /home/machine/note && echo gone > /etc/scratch");

        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.Equal(MachineRuntimeState.Sleeping, await fixture.Runtime.GetStateAsync(id));
        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);

        Assert.Equal("kept", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /home/machine/note", user: "machine"));
        Assert.Equal("absent", await Tools.BashCheckedAsync(fixture.Runtime, id, "test -e /etc/scratch && echo present || echo absent"));

        // A restart of the host process: a new runtime on the same data directory adopts the running machine.
        var restarted = new RuncMachineRuntime(fixture.Options);
        Assert.Contains(id, await restarted.ListAsync());
        Assert.Equal(MachineRuntimeState.Running, await restarted.GetStateAsync(id));
        await restarted.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.Equal("kept", await Tools.BashCheckedAsync(restarted, id, "cat /home/machine/note"));
        await restarted.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        await restarted.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.Equal("kept", await Tools.BashCheckedAsync(restarted, id, "cat /home/machine/note"));
    }

    [Fact]
    public async Task A_sleeping_machine_has_no_container_no_process_and_no_cgroup()
    {
        var id = await fixture.StartMachineAsync();
        var pids = $"/sys/fs/cgroup/pids/dedalus/{id}/cgroup.procs";
        Assert.NotEmpty(await File.ReadAllTextAsync(pids));

        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);

        Assert.Equal(MachineRuntimeState.Sleeping, await fixture.Runtime.GetStateAsync(id));
        var state = await ProcessRunner.RunAsync("runc", ["--root", fixture.Options.RuncRoot, "state", id]);
        Assert.NotEqual(0, state.ExitCode);
        Assert.False(File.Exists(pids) && (await File.ReadAllTextAsync(pids)).Trim().Length > 0);
        Assert.Empty(Mounts.Under(Path.Combine(fixture.Options.MachinesDirectory, id)));
        await Assert.ThrowsAsync<MachineNotRunningException>(() => fixture.Runtime.ExecAsync(id, new MachineExecRequest(["true"])));

        // Stopping again is fine.
        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
    }

    [Fact]
    public async Task Deleting_a_machine_removes_its_container_mounts_and_files()
    {
        var id = await fixture.StartMachineAsync();
        var root = Path.Combine(fixture.Options.MachinesDirectory, id);
        Assert.NotEmpty(Mounts.Under(root));

        await fixture.Runtime.DeleteAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);

        Assert.Empty(Mounts.Under(root));
        Assert.False(Directory.Exists(root));
        Assert.Equal(MachineRuntimeState.Missing, await fixture.Runtime.GetStateAsync(id));
        Assert.DoesNotContain(id, await fixture.Runtime.ListAsync());
        var list = await ProcessRunner.RunAsync("runc", ["--root", fixture.Options.RuncRoot, "list", "-q"]);
        Assert.DoesNotContain(id, list.StandardOutput, StringComparison.Ordinal);
        await fixture.Runtime.DeleteAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        var error = await Assert.ThrowsAsync<MachineNotFoundException>(() => fixture.Runtime.StartAsync(id));
        Assert.Equal(id, error.MachineId);
    }

    [Fact]
    public async Task Starting_a_half_created_container_with_stale_mounts_repairs_it()
    {
        var id = await fixture.StartMachineAsync();
        await Tools.BashCheckedAsync(fixture.Runtime, id, "echo kept > /home/machine/note");
        // Simulate a crash mid-start: the init is gone, runc still holds a stopped container, mounts are left.
        await Tools.CheckedAsync("runc", "--root", fixture.Options.RuncRoot, "kill", id, "KILL");
        Assert.True(await Eventually.TrueAsync(async () => await fixture.Runtime.GetStateAsync(id) == MachineRuntimeState.Broken, MachineRuntimeFixture.Timeout));

        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);

        Assert.Equal(MachineRuntimeState.Running, await fixture.Runtime.GetStateAsync(id));
        Assert.Equal("kept", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /home/machine/note"));

        // A container created but never started (runc create, then the host process died) is repaired as well.
        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        var root = Path.Combine(fixture.Options.MachinesDirectory, id);
        Directory.CreateDirectory(Path.Combine(root, "upper"));
        Directory.CreateDirectory(Path.Combine(root, "work"));
        var uidBase = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "machine.json")))!["uid_base"]!.GetValue<int>();
        await Tools.CheckedAsync("chown", $"{uidBase}:{uidBase}", Path.Combine(root, "upper"));
        await Tools.CheckedAsync("mount", "-o", "loop", Path.Combine(root, "home.img"), Path.Combine(root, "home"));
        // The host tree's view (idmapped when the runtime makes it; a plain bind here is as stale).
        await Tools.CheckedAsync("mount", "--bind", fixture.Options.HostTreeDirectory, Path.Combine(root, "host-tree"));
        await Tools.CheckedAsync("mount", "-t", "overlay", "overlay", "-o",
            $"lowerdir={fixture.Runtime.BaseImage.RootFileSystem},upperdir={root}/upper,workdir={root}/work", Path.Combine(root, "rootfs"));
        await Tools.CheckedAsync("/bin/sh", "-c", "exec runc --root \"$0\" create --bundle \"$1\" \"$2\" </dev/null >/dev/null 2>&1",
            fixture.Options.RuncRoot, Path.Combine(root, "bundle"), id);
        Assert.Contains("created", (await Tools.CheckedAsync("runc", "--root", fixture.Options.RuncRoot, "state", id)).StandardOutput, StringComparison.Ordinal);
        Assert.Equal(MachineRuntimeState.Broken, await fixture.Runtime.GetStateAsync(id));

        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);

        Assert.Equal(MachineRuntimeState.Running, await fixture.Runtime.GetStateAsync(id));
        Assert.Equal("kept", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /home/machine/note"));

        // Mounts left without any container (a crash between mount and runc run).
        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        await Tools.CheckedAsync("mount", "-o", "loop", Path.Combine(root, "home.img"), Path.Combine(root, "home"));
        Assert.Equal(MachineRuntimeState.Broken, await fixture.Runtime.GetStateAsync(id));
        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.Equal("kept", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /home/machine/note"));
    }

    [Fact]
    public async Task A_machine_is_detached_from_the_host_process_that_started_it()
    {
        var id = await fixture.StartMachineAsync();

        var state = await Tools.CheckedAsync("runc", "--root", fixture.Options.RuncRoot, "state", id);
        using var json = System.Text.Json.JsonDocument.Parse(state.StandardOutput);
        var pid = json.RootElement.GetProperty("pid").GetInt32();

        // Not our child, and no pipe to us: exiting the host process leaves it running.
        var parent = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("PPid:", StringComparison.Ordinal));
        Assert.NotEqual(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), parent["PPid:".Length..].Trim());
        Assert.Equal("/dev/null", new FileInfo($"/proc/{pid}/fd/0").LinkTarget);
        Assert.EndsWith("console.log", new FileInfo($"/proc/{pid}/fd/1").LinkTarget, StringComparison.Ordinal);
        Assert.EndsWith("console.log", new FileInfo($"/proc/{pid}/fd/2").LinkTarget, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_and_start_are_idempotent()
    {
        var id = fixture.NewMachineId();
        var spec = new MachineSpec(id, new MachineResources(1, 256, 1), await fixture.HostMaterialAsync(id));
        await fixture.Runtime.CreateAsync(spec).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.Equal(MachineRuntimeState.Sleeping, await fixture.Runtime.GetStateAsync(id));
        await fixture.Runtime.CreateAsync(spec).WaitAsync(MachineRuntimeFixture.Timeout);
        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        var init = await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /proc/1/stat | cut -d' ' -f22");

        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);

        Assert.Equal(init, await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /proc/1/stat | cut -d' ' -f22"));
    }

    [Fact]
    public async Task A_data_directory_the_mapped_root_cannot_traverse_is_refused_with_a_clear_error()
    {
        using var closed = new TempDirectory("dedalus-machines-closed-");
        var runtime = new RuncMachineRuntime(fixture.Options with { DataDirectory = closed.Combine("runtime") });
        var id = fixture.NewMachineId();

        var error = await Assert.ThrowsAsync<MachineRuntimeException>(
            async () => await runtime.CreateAsync(new MachineSpec(id, new MachineResources(1, 256, 1), await fixture.HostMaterialAsync(id))));

        Assert.Contains($"chmod o+x {closed.Path}", error.Message, StringComparison.Ordinal);
        Assert.Equal(MachineRuntimeState.Missing, await runtime.GetStateAsync(id));
    }
}
