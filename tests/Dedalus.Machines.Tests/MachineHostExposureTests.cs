using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Tests;

/// <summary>
/// What a machine's root can do to the host through the host-side paths of its files. Root inside is the first host uid
/// of the machine's own range (see MachineUidRangeTests); files it makes setuid in its root file system keep that owner
/// on the host. Nobody but host root (and the machine's root itself) may reach them, and no machine's root, nor the
/// shared range's, may change the trust every machine shares.
/// </summary>
public sealed class MachineHostExposureTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    private const string Nobody = "65534";

    [Fact]
    public async Task A_setuid_file_planted_by_root_inside_cannot_be_run_by_another_host_user()
    {
        var id = await fixture.StartMachineAsync();
        await Tools.BashCheckedAsync(fixture.Runtime, id, "cp /bin/bash /tmp/rootsh && chmod 4755 /tmp/rootsh && cp -p /tmp/rootsh /home/machine/rootsh");
        var root = Path.Combine(fixture.Options.MachinesDirectory, id);
        var trustFile = Path.Combine(fixture.Options.SshTrustDirectory, MachineSshd.UserCaKeysFileName);
        var trusted = await File.ReadAllTextAsync(trustFile);

        // Before the fix: "euid=100000" (then every machine's root), and the appended line made every machine trust
        // whatever CA the host user chose.
        var planted = await AsUserAsync(Nobody, Path.Combine(root, "rootfs/tmp/rootsh"), "-p", "-c", $"id -u -r; id -u; echo attacker-ca >> {trustFile}");
        Assert.NotEqual(0, planted.ExitCode);
        Assert.Equal(string.Empty, planted.StandardOutput.Trim());
        Assert.Equal(trusted, await File.ReadAllTextAsync(trustFile));

        // Nor can a host user read the machine's home (its files are 0644 by the machine user's umask) or its root file system.
        Assert.NotEqual(0, (await AsUserAsync(Nobody, "/bin/ls", Path.Combine(root, "home"))).ExitCode);
        Assert.NotEqual(0, (await AsUserAsync(Nobody, "/bin/ls", Path.Combine(root, "rootfs/root"))).ExitCode);
        // The shared base's own setuid programs (sudo, su, mount: owned by the mapped root) are out of reach as well.
        Assert.NotEqual(0, (await AsUserAsync(Nobody, "/usr/bin/test", "-e", Path.Combine(fixture.Runtime.BaseImage.RootFileSystem, "usr/bin/sudo"))).ExitCode);

        // The machine itself is unaffected: its sudo still makes root.
        Assert.Equal("0", await Tools.BashCheckedAsync(fixture.Runtime, id, "sudo -n id -u", user: MachineSshd.UserName));
    }

    [Fact]
    public async Task Neither_a_machines_root_nor_the_shared_range_on_the_host_can_change_the_user_CAs_every_machine_trusts()
    {
        var id = await fixture.StartMachineAsync();
        var machineRoot = (await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /proc/self/uid_map")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var sharedRoot = fixture.Options.SharedUidBase.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var trust = fixture.Options.SshTrustDirectory;
        var trustFile = Path.Combine(trust, MachineSshd.UserCaKeysFileName);
        var trusted = await File.ReadAllTextAsync(trustFile);

        // The machine's root (an escaped process, a setuid file it planted) and the shared range's first uid (the owner
        // of the base's files; a rootless container whose /etc/subuid range starts at 100000 holds it too) must not be
        // able to add a CA for all machines.
        foreach (var uid in new[] { machineRoot, sharedRoot })
        {
            var append = await AsUserAsync(uid, "/bin/sh", "-c", $"echo attacker-ca >> {trustFile}");
            var replace = await AsUserAsync(uid, "/bin/sh", "-c", $"echo attacker-ca > {trust}/new && mv -f {trust}/new {trustFile}");
            Assert.NotEqual(0, append.ExitCode);
            Assert.NotEqual(0, replace.ExitCode);
        }

        Assert.Equal(trusted, await File.ReadAllTextAsync(trustFile));
        // Inside, sshd still reads the trust (owned by an unmapped user, it shows as nobody) and the CA file is intact.
        Assert.Equal(trusted.Trim(), await Tools.BashCheckedAsync(fixture.Runtime, id, $"cat {MachineSshd.HostTreeMountPoint}{MachineSshd.TrustDirectory}/{MachineSshd.UserCaKeysFileName}"));
    }

    /// <summary>
    /// Runs a command as a plain host user. Through a shell that already runs as that user: setpriv 2.38 execs a path
    /// its new user could not even look up.
    /// </summary>
    [Fact]
    public async Task Filling_the_root_file_system_fails_inside_and_takes_no_host_disk()
    {
        var id = await fixture.StartMachineAsync(new Machines.Runtime.MachineResources(1, 256, 1));
        var root = Path.Combine(fixture.Options.MachinesDirectory, id);

        // Before: the overlay's upper layer was a plain host directory; this wrote 1 GiB to the host's disk (any amount
        // would do: a machine could fill the disk the host, the server's database and every other machine share).
        var fill = await Tools.BashAsync(fixture.Runtime, id, "dd if=/dev/zero of=/var/tmp/fill bs=1M count=1024");

        Assert.NotEqual(0, fill.ExitCode);
        Assert.Contains("No space left on device", fill.StandardError, StringComparison.Ordinal);
        // du -x stays on the host's file system: the machine's directory holds its (sparse) home image and little else
        // (besides the idmapped views of the shared base and host tree, which are the shared files themselves).
        var du = await Tools.CheckedAsync("du", "-sx", "--exclude=lower", "--exclude=host-tree", "--block-size=1M", root);
        Assert.InRange(long.Parse(du.StandardOutput.Split('\t')[0], System.Globalization.CultureInfo.InvariantCulture), 0, 100);
        // The machine lives on; freeing the space works.
        Assert.Equal("ok", await Tools.BashCheckedAsync(fixture.Runtime, id, "rm /var/tmp/fill && echo ok"));
    }

    private static Task<ProcessResult> AsUserAsync(string uid, params string[] command) =>
        ProcessRunner.RunAsync("setpriv", [$"--reuid={uid}", $"--regid={uid}", "--clear-groups", "--", "/bin/sh", "-c", "exec \"$@\"", "sh", .. command]);
}
