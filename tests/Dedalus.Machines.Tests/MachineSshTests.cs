using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Tests;

public sealed class MachineSshTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    [Fact]
    public async Task A_real_OpenSSH_client_with_a_user_certificate_logs_in_through_sshd_in_inetd_mode()
    {
        var id = await fixture.StartMachineAsync();
        var key = await UserCertificateAsync(id, serial: 41);
        await using var gateway = new InetdGateway(fixture.Runtime, id);

        var result = await SshAsync(gateway.Port, key, "id -un; hostname; sudo -n id -u");

        Assert.True(result.ExitCode == 0, $"{result}\nsshd: {gateway.SshdLog}");
        Assert.Equal(["machine", id, "0"], result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        await gateway.DisposeAsync();
        Assert.Contains("Accepted publickey for machine", gateway.SshdLog, StringComparison.Ordinal);
        Assert.Contains("serial 41", gateway.SshdLog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_for_another_machine_is_refused()
    {
        var id = await fixture.StartMachineAsync();
        var key = await UserCertificateAsync("dm-some-other-machine", serial: 42);
        await using var gateway = new InetdGateway(fixture.Runtime, id);

        var result = await SshAsync(gateway.Port, key, "id -un");

        Assert.Equal(255, result.ExitCode);
        Assert.Contains("Permission denied", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoked_serial_is_refused_after_the_trust_is_rewritten()
    {
        var id = await fixture.StartMachineAsync();
        var revoked = await UserCertificateAsync(id, serial: 77);
        var kept = await UserCertificateAsync(id, serial: 78);
        await using var gateway = new InetdGateway(fixture.Runtime, id);
        Assert.Equal(0, (await SshAsync(gateway.Port, revoked, "true")).ExitCode);

        var spec = fixture.Keys.WriteFile("krl-spec", "serial: 77\n");
        var krl = fixture.Keys.Combine("revoked.krl");
        await Tools.CheckedAsync("ssh-keygen", "-q", "-k", "-f", krl, "-s", fixture.UserCaPath + ".pub", spec);
        await fixture.Runtime.WriteSshTrustAsync(new MachineSshTrust([fixture.UserCaPublicKey], await File.ReadAllBytesAsync(krl)));

        var refused = await SshAsync(gateway.Port, revoked, "true");
        Assert.Equal(255, refused.ExitCode);
        Assert.Contains("Permission denied", refused.StandardError, StringComparison.Ordinal);
        Assert.Equal(0, (await SshAsync(gateway.Port, kept, "true")).ExitCode);

        await fixture.Runtime.WriteSshTrustAsync(new MachineSshTrust([fixture.UserCaPublicKey], ReadOnlyMemory<byte>.Empty));
    }

    [Fact]
    public async Task The_sshd_configuration_is_read_only_and_owned_by_root_inside()
    {
        var id = await fixture.StartMachineAsync();
        const string Config = "/.dedalus/etc/ssh/dedalus";
        const string Trust = "/.dedalus/etc/ssh/dedalus-trust";

        Assert.Equal("root root", await Tools.BashCheckedAsync(fixture.Runtime, id, $"stat -c '%U %G' {Config}/sshd_config"));
        Assert.Equal("root 600", await Tools.BashCheckedAsync(fixture.Runtime, id, $"stat -c '%U %a' {Config}/ssh_host_key"));
        Assert.Equal(id, await Tools.BashCheckedAsync(fixture.Runtime, id, $"cat {Config}/authorized_principals"));
        var write = await Tools.BashAsync(fixture.Runtime, id, $"echo x >> {Config}/sshd_config");
        Assert.Contains("Read-only file system", write.StandardError, StringComparison.Ordinal);
        // The trust files belong to host root (nobody inside): root inside is refused before the read-only mount is consulted.
        var trust = await Tools.BashAsync(fixture.Runtime, id, $"echo x >> {Trust}/user_ca_keys.pub");
        Assert.Contains("Permission denied", trust.StandardError, StringComparison.Ordinal);
        Assert.Equal("nobody 644", await Tools.BashCheckedAsync(fixture.Runtime, id, $"stat -c '%U %a' {Trust}/user_ca_keys.pub"));
        // The tree and both mounts in it are read-only, and root inside (no CAP_SYS_ADMIN, no nested user namespace)
        // cannot remount, unmount or rename them.
        Assert.Equal("ro\nro\nro", await Tools.BashCheckedAsync(
            fixture.Runtime, id, $"for m in /.dedalus {Config} {Trust}; do findmnt -no VFS-OPTIONS $m | cut -d, -f1; done"));
        Assert.NotEqual(0, (await Tools.BashAsync(fixture.Runtime, id, $"mount -o remount,rw,bind {Trust}")).ExitCode);
        Assert.NotEqual(0, (await Tools.BashAsync(fixture.Runtime, id, $"mount -o remount,rw,bind {Config}")).ExitCode);
        Assert.NotEqual(0, (await Tools.BashAsync(fixture.Runtime, id, $"umount -l {Config}")).ExitCode);
        Assert.NotEqual(0, (await Tools.BashAsync(fixture.Runtime, id, "umount -l /.dedalus")).ExitCode);
        Assert.NotEqual(0, (await Tools.BashAsync(fixture.Runtime, id, "mv /.dedalus /elsewhere")).ExitCode);
        Assert.NotEqual(0, (await Tools.BashAsync(fixture.Runtime, id, "mount -t tmpfs none /.dedalus/dedalus")).ExitCode);
        Assert.Contains("Read-only file system", (await Tools.BashAsync(fixture.Runtime, id, $"echo x >> {Config}/sshd_config")).StandardError, StringComparison.Ordinal);

        // The tree's programs are host root's and execute-only: root inside runs them but cannot read them.
        Assert.Equal("nobody 711\nnobody 711\nnobody 711", await Tools.BashCheckedAsync(
            fixture.Runtime, id, "for p in sshd busybox tini; do stat -c '%U %a' /.dedalus/dedalus/$p; done"));
        Assert.Contains("Permission denied", (await Tools.BashAsync(fixture.Runtime, id, "cat /.dedalus/dedalus/sshd > /dev/null")).StandardError, StringComparison.Ordinal);

        // The tree's sshd accepts its configuration.
        Assert.Equal(0, (await Tools.ExecAsync(fixture.Runtime, id, [.. SshdInTree, "-t", "-f", $"{MachineSshd.ConfigDirectory}/sshd_config"])).ExitCode);
    }

    [Fact]
    public async Task The_effective_sshd_configuration_allows_certificates_only_and_ends_silent_clients_after_30_seconds()
    {
        var id = await fixture.StartMachineAsync();

        // sshd -T: the configuration sshd actually runs with, defaults included.
        var result = await Tools.ExecAsync(fixture.Runtime, id, [.. SshdInTree, "-T", "-f", $"{MachineSshd.ConfigDirectory}/sshd_config"]);
        Assert.True(result.ExitCode == 0, result.StandardError);
        var effective = result.StandardOutput.Split('\n').ToHashSet(StringComparer.Ordinal);

        string[] expected =
        [
            "logingracetime 30", "authorizedkeysfile none", "authorizedprincipalsfile /etc/ssh/dedalus/authorized_principals",
            "trustedusercakeys /etc/ssh/dedalus-trust/user_ca_keys.pub", "revokedkeys /etc/ssh/dedalus-trust/revoked_keys.krl",
            "passwordauthentication no", "kbdinteractiveauthentication no", "hostbasedauthentication no", "permitemptypasswords no",
            "permitrootlogin no", "allowusers machine", "permituserenvironment no", "permittunnel no", "gatewayports no",
            "x11forwarding no", "allowtcpforwarding yes", "allowagentforwarding yes", "subsystem sftp internal-sftp",
            "chrootdirectory /machine",
        ];
        Assert.All(expected, line => Assert.Contains(line, effective));
    }

    /// <summary>The host tree's sshd, started as the gateway starts it (chrooted into the tree by its static busybox).</summary>
    private static readonly string[] SshdInTree =
        [MachineSshd.HostTreeMountPoint + MachineSshd.BusyboxPath, "chroot", MachineSshd.HostTreeMountPoint, MachineSshd.SshdPath];

    private Task<string> UserCertificateAsync(string principal, int serial) => fixture.UserCertificateAsync(principal, serial);

    private Task<ProcessResult> SshAsync(int port, string key, string command) => fixture.SshAsync(port, key, command);
}
