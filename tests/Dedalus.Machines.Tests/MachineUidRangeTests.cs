using System.Globalization;
using System.Text.Json.Nodes;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Tests;

/// <summary>
/// Each machine in a host uid range of its own: its processes, its files (home, root file system changes, and the shared
/// base as it sees it) are owned by its range only, so root that escapes one machine is a stranger to every other one.
/// </summary>
public sealed class MachineUidRangeTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    private const int RangeSize = 65536;

    [Fact]
    public async Task Two_machines_own_their_files_and_processes_with_disjoint_host_uids()
    {
        var a = await fixture.StartMachineAsync();
        var b = await fixture.StartMachineAsync();
        var (baseA, baseB) = (await UidBaseAsync(a), await UidBaseAsync(b));

        Assert.True(Math.Abs((long)baseA - baseB) >= RangeSize, $"ranges {baseA} and {baseB} overlap");
        foreach (var (id, uidBase) in new[] { (a, baseA), (b, baseB) })
        {
            await Tools.BashCheckedAsync(fixture.Runtime, id, $"echo secret-of-{id} > ~/secret && chmod 0644 ~/secret", user: MachineSshd.UserName);
            await Tools.BashCheckedAsync(fixture.Runtime, id, "touch /var/tmp/made-by-root");
            var root = Root(id);
            // Its home, its root file system's changes, and the shared base seen through its idmapped view.
            Assert.Equal(Owner(uidBase + 1000), await HostOwnerAsync(Path.Combine(root, "home/secret")));
            Assert.Equal(Owner(uidBase), await HostOwnerAsync(Path.Combine(root, "rootfs/var/tmp/made-by-root")));
            Assert.Equal(Owner(uidBase), await HostOwnerAsync(Path.Combine(root, "rootfs/etc/passwd")));
            Assert.Equal($"{Owner(uidBase)} 4755", (await Tools.CheckedAsync("stat", "-c", "%u:%g %a", Path.Combine(root, "rootfs/usr/bin/sudo"))).StandardOutput.Trim());
            // Inside, the same files are the machine's own.
            Assert.Equal("1000 0 0", await Tools.BashCheckedAsync(fixture.Runtime, id, "echo $(stat -c %u ~machine/secret) $(stat -c %u /var/tmp/made-by-root) $(stat -c %u /usr/bin/sudo)"));
            Assert.Equal("0", await Tools.BashCheckedAsync(fixture.Runtime, id, "sudo -n id -u", user: MachineSshd.UserName));
        }

        // A process of each machine runs as a host uid of that machine's range only.
        var sleepers = new Dictionary<string, int>();
        foreach (var (id, uidBase) in new[] { (a, baseA), (b, baseB) })
        {
            var marker = $"{100 + sleepers.Count}{Random.Shared.Next(1000, 9999)}";
            await Tools.BashCheckedAsync(fixture.Runtime, id, $"setsid sleep {marker} > /dev/null 2>&1 < /dev/null &", user: MachineSshd.UserName);
            var pid = 0;
            Assert.True(await Eventually.TrueAsync(async () =>
            {
                var found = await ProcessRunner.RunAsync("pgrep", ["-x", "-f", $"sleep {marker}"]);
                return found.ExitCode == 0 && int.TryParse(found.StandardOutput.Trim(), CultureInfo.InvariantCulture, out pid);
            }));
            Assert.Equal((uidBase + 1000).ToString(CultureInfo.InvariantCulture), HostUidOf(pid));
            sleepers[id] = pid;
        }

        // Root of machine A, escaped to the host (its host uid and gid, no other group): B's home, root file system and
        // processes are out of reach; its own machine's are not (the check itself works).
        var escaped = await AsHostUserAsync(baseA, $"cat {Root(b)}/home/secret; ls {Root(b)}/rootfs/root; kill -0 {sleepers[b]} && echo signalled");
        Assert.DoesNotContain($"secret-of-{b}", escaped.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("signalled", escaped.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Permission denied", escaped.StandardError, StringComparison.Ordinal);
        Assert.Contains("Operation not permitted", escaped.StandardError, StringComparison.Ordinal);
        Assert.Equal($"secret-of-{a}", (await AsHostUserAsync(baseA, $"cat {Root(a)}/home/secret")).StandardOutput.Trim());
        // The same for A's user: it may signal its own processes on the host, not B's.
        var user = await AsHostUserAsync(baseA + 1000, $"kill -0 {sleepers[a]} && echo own; kill -0 {sleepers[b]} && echo other");
        Assert.Equal("own", user.StandardOutput.Trim());
    }

    [Fact]
    public async Task A_machine_keeps_its_range_and_its_home_across_sleep_and_wake_and_sshd_logs_in()
    {
        var id = await fixture.StartMachineAsync();
        var uidBase = await UidBaseAsync(id);
        await Tools.BashCheckedAsync(fixture.Runtime, id, "echo kept > ~/kept", user: MachineSshd.UserName);

        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);

        Assert.Equal(uidBase, await UidBaseAsync(id));
        Assert.Equal("kept 1000", await Tools.BashCheckedAsync(fixture.Runtime, id, "echo $(cat ~/kept) $(stat -c %u ~/kept)", user: MachineSshd.UserName));
        Assert.Equal(Owner(uidBase + 1000), await HostOwnerAsync(Path.Combine(Root(id), "home/kept")));
        await AssertSshLogsInAsync(id);
    }

    [Fact]
    public async Task A_machine_created_in_the_shared_range_moves_to_its_own_at_its_next_start_and_keeps_its_home()
    {
        var id = await fixture.StartMachineAsync();
        var first = await UidBaseAsync(id);
        await Tools.BashCheckedAsync(fixture.Runtime, id, "mkdir -p ~/work && echo old > ~/work/notes && ln -s notes ~/work/link", user: MachineSshd.UserName);
        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        await MakeSharedRangeMachineAsync(id, first);

        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);

        var uidBase = await UidBaseAsync(id);
        Assert.True(fixture.Options.MachineUids!.Holds(uidBase));
        Assert.Equal(uidBase, RecordUidBase(id));
        Assert.Equal("old 1000 1000", await Tools.BashCheckedAsync(
            fixture.Runtime, id, "echo $(cat ~/work/link) $(stat -c %u ~/work/notes) $(stat -c %u ~/work)", user: MachineSshd.UserName));
        Assert.Equal(Owner(uidBase + 1000), await HostOwnerAsync(Path.Combine(Root(id), "home/work/notes")));
        Assert.Equal(Owner(uidBase + 1000), await HostOwnerAsync(Path.Combine(Root(id), "home/work/link")));
        Assert.Equal($"0:{uidBase} 710", (await Tools.CheckedAsync("stat", "-c", "%u:%g %a", Root(id))).StandardOutput.Trim());
        // No file of its home stays in the shared range.
        var left = await Tools.CheckedAsync("find", Path.Combine(Root(id), "home"), "-xdev", "(", "-uid", "101000", "-o", "-gid", "101000", "-o", "-uid", "100000", ")", "-print");
        Assert.Equal(string.Empty, left.StandardOutput.Trim());
        Assert.Equal("0", await Tools.BashCheckedAsync(fixture.Runtime, id, "sudo -n id -u", user: MachineSshd.UserName));
        await AssertSshLogsInAsync(id);
    }

    /// <summary>
    /// Rewrites a sleeping machine into what a version before per-machine ranges left on disk: its home and SSH material
    /// owned by the shared range (root inside = 100000), a record without a range, its directory open (0711 root:root),
    /// and no claim in the registry. Done with shell tools, independently of the runtime's own code.
    /// </summary>
    private async Task MakeSharedRangeMachineAsync(string id, int uidBase)
    {
        var root = Root(id);
        var shared = fixture.Options.SharedUidBase;
        var mountPoint = fixture.Keys.Combine($"legacy-{id}");
        Directory.CreateDirectory(mountPoint);
        var shift = $$"""
            find "$1" -xdev -printf '%U %G %p\0' | while IFS=' ' read -r -d '' u g p; do
              if [ "$u" -ge {{uidBase}} ] && [ "$u" -lt {{uidBase + RangeSize}} ]; then
                chown -h $((u - {{uidBase - shared}})):$((g - {{uidBase - shared}})) "$p"
              fi
            done
            """;
        await Tools.CheckedAsync("mount", "-o", "loop", Path.Combine(root, "home.img"), mountPoint);
        try
        {
            await Tools.CheckedAsync("bash", "-c", shift, "shift", mountPoint);
            Assert.Equal(Owner(shared + 1000), await HostOwnerAsync(Path.Combine(mountPoint, "work/notes")));
        }
        finally
        {
            await Tools.CheckedAsync("umount", mountPoint);
        }

        await Tools.CheckedAsync("bash", "-c", shift, "shift", Path.Combine(root, "ssh"));
        await Tools.CheckedAsync("chown", "0:0", root);
        await Tools.CheckedAsync("chmod", "0711", root);
        var record = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "machine.json")))!.AsObject();
        Assert.True(record.Remove("uid_base"));
        await File.WriteAllTextAsync(Path.Combine(root, "machine.json"), record.ToJsonString());
        File.Delete(Path.Combine(fixture.Options.UidRangeRegistry, uidBase.ToString(CultureInfo.InvariantCulture)));
    }

    private async Task AssertSshLogsInAsync(string id)
    {
        var key = await fixture.UserCertificateAsync(id, serial: 77);
        await using var gateway = new InetdGateway(fixture.Runtime, id);
        var result = await fixture.SshAsync(gateway.Port, key, "id -un; sudo -n id -u; cat /proc/self/uid_map");
        Assert.True(result.ExitCode == 0, $"{result}\nsshd: {gateway.SshdLog}");
        Assert.StartsWith("machine\n0\n", result.StandardOutput, StringComparison.Ordinal);
    }

    private string Root(string id) => Path.Combine(fixture.Options.MachinesDirectory, id);

    private int? RecordUidBase(string id) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Root(id), "machine.json")))!["uid_base"]?.GetValue<int>();

    private async Task<int> UidBaseAsync(string id)
    {
        var map = (await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /proc/self/uid_map")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["0", "65536"], [map[0], map[2]]);
        return int.Parse(map[1], CultureInfo.InvariantCulture);
    }

    private static string Owner(int id) => string.Create(CultureInfo.InvariantCulture, $"{id}:{id}");

    private static async Task<string> HostOwnerAsync(string path) => (await Tools.CheckedAsync("stat", "-c", "%u:%g", path)).StandardOutput.Trim();

    private static string HostUidOf(int pid) =>
        File.ReadAllLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal))
            .Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];

    /// <summary>A shell as a plain host user and group (no supplementary groups), as an escaped machine root would be.</summary>
    private static Task<ProcessResult> AsHostUserAsync(int uid, string script)
    {
        var id = uid.ToString(CultureInfo.InvariantCulture);
        return ProcessRunner.RunAsync("setpriv", [$"--reuid={id}", $"--regid={id}", "--clear-groups", "--", "/bin/sh", "-c", script]);
    }
}
