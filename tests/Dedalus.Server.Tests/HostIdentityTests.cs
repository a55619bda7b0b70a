using Dedalus.Contracts;
using Dedalus.Machines.Runtime;
using Dedalus.OpenSsh;
using Dedalus.Server.Hosting;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Ssh;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// Each machine's host identity: a host CA of its own, derived from the master host key; a fresh host key and a
/// short-lived certificate installed before every wake and renewed at half-life while it runs. Runs the real server on
/// a fake clock with the in-memory runtime, which records every install; the runc tests serve the keys to real ssh.
/// </summary>
public sealed class HostIdentityTests : ServerTestBase
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(30);
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private InMemoryMachineRuntime? _sharedRuntime;

    protected override Task<RunningServer> StartServerAsync(string dataDirectory) => RunningServer.StartAsync(
        dataDirectory,
        _clock,
        ["--Dedalus:SweepInterval", "40.00:00:00"],
        services: s =>
        {
            if (_sharedRuntime is { } runtime)
            {
                s.AddSingleton(runtime);
            }
        });

    [Fact]
    public void Host_keys_and_machine_host_CAs_are_never_keys_the_SDKs_SSH_library_misreads()
    {
        var options = new ServerOptions { DataDirectory = Work.Combine("data") };
        using var authority = SshAuthority.LoadOrCreate(options, NullLogger.Instance);
        for (var i = 0; i < 2000; i++)
        {
            var machineId = MachineIds.Format(Guid.NewGuid());
            var identity = authority.IssueHostIdentity(machineId, DateTimeOffset.UtcNow);
            var certificate = SshCertificate.Parse(identity.Material.HostCertificate);

            Assert.False(SshPublicKey.Parse(authority.MachineHostCaPublicKey(machineId)).IsMisreadBySignedIntegerParsers);
            Assert.False(certificate.Key.IsMisreadBySignedIntegerParsers);
            Assert.False(certificate.SignatureKey.IsMisreadBySignedIntegerParsers);
        }
    }

    [Fact]
    public void A_machines_host_CA_is_the_same_after_a_restart_and_differs_from_every_other_machines_and_from_the_master()
    {
        var options = new ServerOptions { DataDirectory = Work.Combine("data") };
        string first, again, other;
        using (var authority = SshAuthority.LoadOrCreate(options, NullLogger.Instance))
        {
            first = authority.MachineHostCaPublicKey("dm-0b9f6c1e-4a5d-4c3b-9e2f-000000000001");
            other = authority.MachineHostCaPublicKey("dm-0b9f6c1e-4a5d-4c3b-9e2f-000000000002");
        }

        using (var reloaded = SshAuthority.LoadOrCreate(options, NullLogger.Instance))
        {
            again = reloaded.MachineHostCaPublicKey("dm-0b9f6c1e-4a5d-4c3b-9e2f-000000000001");
        }

        var master = SshPublicKey.Parse(File.ReadAllText(Path.Combine(options.DataDirectory, "ca", "host_ca.pub")));
        Assert.Equal(first, again);
        Assert.NotEqual(SshPublicKey.Parse(first), SshPublicKey.Parse(other));
        Assert.NotEqual(master, SshPublicKey.Parse(first));
        Assert.EndsWith(" " + SshAuthority.MachineHostCaComment, first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_certificate_is_valid_from_the_backdate_for_the_lifetime_names_only_the_gateway_and_only_its_machines_CA_signed_it()
    {
        const string MachineId = "dm-0b9f6c1e-4a5d-4c3b-9e2f-000000000001";
        var options = new ServerOptions { DataDirectory = Work.Combine("data"), GatewayHost = ["gw.test", "localhost"], HostCertificateLifetime = Lifetime };
        using var authority = SshAuthority.LoadOrCreate(options, NullLogger.Instance);
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

        var identity = authority.IssueHostIdentity(MachineId, now);
        var next = authority.IssueHostIdentity(MachineId, now);

        var certificate = SshCertificate.Parse(identity.Material.HostCertificate);
        using var hostKey = SshPrivateKey.ParseOpenSshFormat(identity.Material.HostPrivateKey);
        Assert.Equal(SshCertificateType.Host, certificate.Type);
        Assert.Equal(hostKey.PublicKey, certificate.Key);
        Assert.Equal(SshPublicKey.Parse(authority.MachineHostCaPublicKey(MachineId)), certificate.SignatureKey);
        Assert.NotEqual(SshPublicKey.Parse(authority.MachineHostCaPublicKey("dm-0b9f6c1e-4a5d-4c3b-9e2f-000000000002")), certificate.SignatureKey);
        Assert.True(certificate.VerifySignature());
        Assert.Equal(now - options.CertificateBackdate, certificate.ValidAfter);
        Assert.Equal(now + Lifetime, certificate.ValidBefore);
        Assert.Equal((certificate.ValidAfter, certificate.ValidBefore), (identity.ValidAfter, identity.ValidBefore));
        Assert.Equal(["gw.test", "localhost"], certificate.Principals);
        Assert.Equal(identity.KeyId, certificate.KeyId);
        Assert.Matches("^host-[0-9a-f]{32}$", certificate.KeyId);
        Assert.DoesNotContain("0b9f6c1e", identity.Material.HostCertificate + certificate.KeyId, StringComparison.Ordinal);

        // Every issue is a new key, key id and serial.
        Assert.NotEqual(certificate.Key, SshCertificate.Parse(next.Material.HostCertificate).Key);
        Assert.NotEqual(identity.KeyId, next.KeyId);
        Assert.NotEqual(identity.Serial, next.Serial);

        // OpenSSH reads it as we do.
        var path = Work.WriteFile("host-cert.pub", identity.Material.HostCertificate + "\n");
        var listing = await ProcessRunner.RunAsync("ssh-keygen", "-L", "-f", path);
        Assert.True(listing.ExitCode == 0, listing.ToString());
        Assert.Contains("host certificate", listing.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(MachineId, listing.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(14, false)]
    [InlineData(15, true)]
    [InlineData(29, true)]
    [InlineData(31, true)]
    public void Renewal_is_due_once_less_than_half_the_lifetime_is_left(int minutesSinceIssue, bool due)
    {
        var issued = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var validBefore = issued + Lifetime;

        var now = issued + TimeSpan.FromMinutes(minutesSinceIssue) + (due ? TimeSpan.FromSeconds(1) : TimeSpan.Zero);

        Assert.Equal(due, HostIdentityRotation.IsRenewalDue(validBefore, Lifetime, now));
    }

    [Fact]
    public async Task Every_wake_installs_a_new_host_key_and_certificate_before_the_machine_starts()
    {
        var machine = await Api.CreateRunningMachineAsync();
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        _clock.Advance(TimeSpan.FromMinutes(5));
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/wake", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);
        await Server.SettleAsync();

        var installed = Server.Runtime.HostIdentities(machine.MachineId);

        Assert.Equal(2, installed.Count);
        Assert.All(installed, i => Assert.Equal(MachineRuntimeState.Sleeping, i.State));
        var first = SshCertificate.Parse(installed[0].Material.HostCertificate);
        var second = SshCertificate.Parse(installed[1].Material.HostCertificate);
        Assert.NotEqual(first.Key, second.Key);
        Assert.Equal(_clock.GetUtcNow() + Lifetime, second.ValidBefore, TimeSpan.FromSeconds(1));
        Assert.Equal(first.SignatureKey, second.SignatureKey);

        // The creation's files (the runtime wants some) were never served: the first wake replaced them.
        var created = SshCertificate.Parse(Server.Runtime.GetSpec(machine.MachineId)!.Ssh.HostCertificate);
        Assert.NotEqual(created.Key, first.Key);
    }

    [Fact]
    public async Task A_running_machines_host_certificate_is_renewed_by_the_sweep_once_past_half_life()
    {
        var machine = await Api.CreateRunningMachineAsync("""{"vcpu":1,"memory_mib":1024,"storage_gib":10,"autosleep":"never"}""");
        var maintenance = Server.Service<MaintenanceService>();

        _clock.Advance(TimeSpan.FromMinutes(14));
        await maintenance.RunOnceAsync();
        await Server.SettleAsync();
        Assert.Single(Server.Runtime.HostIdentities(machine.MachineId));

        _clock.Advance(TimeSpan.FromMinutes(2));
        await maintenance.RunOnceAsync();
        await Server.SettleAsync();
        var installed = Server.Runtime.HostIdentities(machine.MachineId);

        Assert.Equal(2, installed.Count);
        Assert.Equal(MachineRuntimeState.Running, installed[1].State);
        var renewed = SshCertificate.Parse(installed[1].Material.HostCertificate);
        Assert.Equal(_clock.GetUtcNow() + Lifetime, renewed.ValidBefore, TimeSpan.FromSeconds(1));
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[1700]", StringComparison.Ordinal) && l.Contains("(renewal)", StringComparison.Ordinal));

        // Renewed just now: the next sweep leaves it alone.
        await maintenance.RunOnceAsync();
        await Server.SettleAsync();
        Assert.Equal(2, Server.Runtime.HostIdentities(machine.MachineId).Count);
    }

    [Fact]
    public async Task After_a_restart_every_running_machine_gets_a_new_host_identity_at_once()
    {
        var running = await Api.CreateRunningMachineAsync();
        var sleeping = await Api.CreateRunningMachineAsync();
        await Api.PostAsync($"/v1/machines/{sleeping.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(sleeping.MachineId, MachinePhases.Sleeping);
        Assert.Single(Server.Runtime.HostIdentities(running.MachineId));

        // The machines keep running in the runtime across the restart, as runc machines do.
        _sharedRuntime = Server.Runtime;
        await RestartServerAsync();
        await Server.SettleAsync();

        Assert.Same(_sharedRuntime, Server.Runtime);
        var installed = Server.Runtime.HostIdentities(running.MachineId);
        Assert.Equal(2, installed.Count);
        Assert.Equal(MachineRuntimeState.Running, installed[1].State);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[1700]", StringComparison.Ordinal) && l.Contains("(renewal)", StringComparison.Ordinal));
        Assert.Single(Server.Runtime.HostIdentities(sleeping.MachineId));
    }

    [Fact]
    public async Task A_destroyed_machine_is_never_given_a_host_identity_again()
    {
        var machine = await Api.CreateRunningMachineAsync();
        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Destroyed);

        _clock.Advance(TimeSpan.FromHours(1));
        await Server.Service<MaintenanceService>().RunOnceAsync();
        await Server.SettleAsync();

        Assert.Single(Server.Runtime.HostIdentities(machine.MachineId));
        Assert.DoesNotContain(Server.Logs.Lines, l => l.Contains("[1701]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Each_session_trusts_only_its_own_machines_host_CA()
    {
        var first = await Api.CreateRunningMachineAsync();
        var second = await Api.CreateRunningMachineAsync();
        var authority = Server.Service<SshAuthority>();

        var firstTrust = (await Api.OpenSessionAsync(first.MachineId)).Session().Connection!.HostTrust!;
        var againTrust = (await Api.OpenSessionAsync(first.MachineId)).Session().Connection!.HostTrust!;
        var secondTrust = (await Api.OpenSessionAsync(second.MachineId)).Session().Connection!.HostTrust!;

        Assert.Equal(authority.MachineHostCaPublicKey(first.StoreId()), firstTrust.PublicKey);
        Assert.Equal(firstTrust.PublicKey, againTrust.PublicKey);
        Assert.Equal(authority.MachineHostCaPublicKey(second.StoreId()), secondTrust.PublicKey);
        Assert.NotEqual(SshPublicKey.Parse(firstTrust.PublicKey), SshPublicKey.Parse(secondTrust.PublicKey));
        Assert.Equal(firstTrust.HostPattern, secondTrust.HostPattern);
        var installed = SshCertificate.Parse(Server.Runtime.HostIdentities(first.MachineId)[^1].Material.HostCertificate);
        Assert.Equal(SshPublicKey.Parse(firstTrust.PublicKey), installed.SignatureKey);
    }
}
