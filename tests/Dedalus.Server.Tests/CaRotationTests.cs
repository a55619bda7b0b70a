using System.Net;
using Dedalus.Contracts;
using Dedalus.OpenSsh;
using Dedalus.Server.Executions;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// <c>dedalus-server ca rotate</c>, run as a process against the data directory of a running server (the real server
/// on a fake clock with the in-memory runtime, which records the trust and host identities it is given): the next
/// session follows at once, the old user CA stays trusted for its overlap and revocable meanwhile, then leaves the
/// machines' trust and its sessions close; a host rotation gives running machines new identities before a session
/// answers. The runc tests in Dedalus.Cli.Tests serve all this to real ssh.
/// </summary>
public sealed class CaRotationTests : ServerTestBase
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    protected override Task<RunningServer> StartServerAsync(string dataDirectory) =>
        RunningServer.StartAsync(dataDirectory, _clock, ["--Dedalus:SweepInterval", "40.00:00:00"]);

    private string CaFile(string name) => Path.Combine(Data.Path, "ca", name);

    private SshPublicKey UserCa => SshPublicKey.Parse(File.ReadAllText(CaFile("user_ca.pub")).Trim());

    private SshPublicKey HostMaster => SshPublicKey.Parse(File.ReadAllText(CaFile("host_ca.pub")).Trim());

    private IReadOnlyList<SshPublicKey> TrustedByMachines => [.. Server.Runtime.LastTrust!.UserCaPublicKeys.Select(SshPublicKey.Parse)];

    [Fact]
    public async Task After_a_user_rotation_the_next_session_is_signed_by_the_new_CA_only_once_machines_trust_it_and_the_old_CA_stays_trusted()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var before = await OpenSessionAsync(machine.MachineId, "a");
        var oldCa = UserCa;

        var rotated = await RotateAsync("--user", "--overlap", "1h");
        var newCa = UserCa;

        // Hold the trust write the next create causes: until machines trust the new CA, no certificate of it is stored.
        var publishing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Server.Runtime.BeforeTrustWrite = async ct =>
        {
            publishing.TrySetResult();
            await release.Task.WaitAsync(ct);
        };
        var creating = OpenSessionAsync(machine.MachineId, "b");
        await publishing.Task.WaitAsync(RunningServer.Timeout);
        var storedWhileHeld = (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh")).SessionList().Items.Select(s => s.SessionId).ToList();
        Server.Runtime.BeforeTrustWrite = null;
        release.TrySetResult();
        var after = await creating;

        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        Assert.NotEqual(oldCa, newCa);
        Assert.Equal([before.Session.SessionId], storedWhileHeld);
        Assert.Equal(oldCa, SshCertificate.Parse(before.Session.Connection!.UserCertificate!).SignatureKey);
        Assert.Equal(newCa, SshCertificate.Parse(after.Session.Connection!.UserCertificate!).SignatureKey);
        Assert.Equal([newCa, oldCa], TrustedByMachines);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[1103]", StringComparison.Ordinal) && l.Contains(newCa.Fingerprint, StringComparison.Ordinal) && l.Contains(oldCa.Fingerprint, StringComparison.Ordinal));

        // The KRL has a certificate section for each trusted CA (ssh-keygen lists those with a revocation).
        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{before.Session.SessionId}");
        var listing = await KeygenAsync("-Q", "-l", "-f", await WriteKrlAsync());
        Assert.Contains("# CA key ssh-ed25519 " + oldCa.Fingerprint, listing.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("# CA key ssh-ed25519 " + newCa.Fingerprint, listing.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_of_the_old_CA_deleted_during_the_overlap_is_revoked_under_the_old_CA()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var deleted = await OpenSessionAsync(machine.MachineId, "deleted");
        var kept = await OpenSessionAsync(machine.MachineId, "kept");
        Assert.Equal(0, (await RotateAsync("--user")).ExitCode);
        var fresh = await OpenSessionAsync(machine.MachineId, "fresh");

        var response = await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{deleted.Session.SessionId}");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var krl = await WriteKrlAsync();
        Assert.Equal(1, (await KeygenAsync("-Q", "-f", krl, deleted.CertificatePath)).ExitCode);
        Assert.Equal(0, (await KeygenAsync("-Q", "-f", krl, kept.CertificatePath)).ExitCode);
        Assert.Equal(0, (await KeygenAsync("-Q", "-f", krl, fresh.CertificatePath)).ExitCode);
        Assert.Equal(1, (await KeygenAsync("-Q", "-f", Path.Combine(Data.Path, "ssh", "revoked_keys"), deleted.CertificatePath)).ExitCode);
        Assert.Equal(2, TrustedByMachines.Count);
    }

    [Fact]
    public async Task When_the_overlap_ends_the_sweep_drops_the_old_CA_from_the_machines_trust_and_closes_its_sessions()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var old = await OpenSessionAsync(machine.MachineId, "old");
        Assert.Equal(0, (await RotateAsync("--user", "--overlap", "10m")).ExitCode);
        var fresh = await OpenSessionAsync(machine.MachineId, "fresh");
        var maintenance = Server.Service<MaintenanceService>();

        // Within the overlap the sweep changes nothing.
        _clock.Advance(TimeSpan.FromMinutes(9));
        await maintenance.RunOnceAsync();
        Assert.Equal(2, TrustedByMachines.Count);
        Assert.Equal(SshSessionStatuses.Ready, (await GetSessionAsync(machine.MachineId, old.Session.SessionId)).Status);

        _clock.Advance(TimeSpan.FromMinutes(2));
        await maintenance.RunOnceAsync();

        Assert.Equal([UserCa], TrustedByMachines);
        Assert.Equal(SshSessionStatuses.Closed, (await GetSessionAsync(machine.MachineId, old.Session.SessionId)).Status);
        Assert.Equal(SshSessionStatuses.Ready, (await GetSessionAsync(machine.MachineId, fresh.Session.SessionId)).Status);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[1108]", StringComparison.Ordinal));
        var listing = await KeygenAsync("-Q", "-l", "-f", await WriteKrlAsync());
        Assert.Single(listing.StandardOutput.Split('\n'), l => l.StartsWith("# CA key", StringComparison.Ordinal));
        Assert.Contains("# CA key ssh-ed25519 " + UserCa.Fingerprint, listing.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_overlap_0_the_old_CA_is_dropped_and_its_sessions_closed_at_the_next_sweep_without_waiting()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var old = await OpenSessionAsync(machine.MachineId, "old");

        var rotated = await RotateAsync("--user", "--overlap", "0");

        // The command reads the wall clock; the server's fake one started a little before it.
        _clock.SetUtcNow(DateTimeOffset.UtcNow);
        await Server.Service<MaintenanceService>().RunOnceAsync();

        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        Assert.Contains("overlap 0", rotated.StandardOutput, StringComparison.Ordinal);
        Assert.Equal([UserCa], TrustedByMachines);
        Assert.Equal(SshSessionStatuses.Closed, (await GetSessionAsync(machine.MachineId, old.Session.SessionId)).Status);
        var fresh = await OpenSessionAsync(machine.MachineId, "fresh");
        Assert.Equal(UserCa, SshCertificate.Parse(fresh.Session.Connection!.UserCertificate!).SignatureKey);
    }

    [Fact]
    public async Task After_a_host_rotation_the_next_session_waits_for_the_new_host_identity_and_every_session_reads_the_new_host_CA()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var before = await OpenSessionAsync(machine.MachineId, "before");
        var tokens = Server.Service<ExecutionLogTokens>();
        var execution = new ExecutionRecord
        {
            Id = "ex-rotation", OrgId = Api.OrgId, MachineId = machine.StoreId(), Status = ExecutionStatuses.Running, Command = ["true"],
            EnvKeys = [], TimeoutMs = 1000, Runner = "test", StreamId = "ls-rotation", CreatedAt = _clock.GetUtcNow(),
        };
        var (token, _) = tokens.Issue(execution);
        var secret = await File.ReadAllBytesAsync(CaFile("server_secret"));
        var oldMaster = HostMaster;
        var installedBefore = Server.Runtime.HostIdentities(machine.MachineId).Count;

        var rotated = await RotateAsync("--host");
        var after = await OpenSessionAsync(machine.MachineId, "after");
        var beforeReadAgain = await GetSessionAsync(machine.MachineId, before.Session.SessionId);

        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        Assert.NotEqual(oldMaster, HostMaster);
        var newTrust = after.Session.Connection!.HostTrust!.PublicKey;
        Assert.NotEqual(before.Session.Connection!.HostTrust!.PublicKey, newTrust);
        Assert.Equal(newTrust, beforeReadAgain.Connection!.HostTrust!.PublicKey);

        // The machine presented a certificate of the new CA before the answer came back.
        var installed = Server.Runtime.HostIdentities(machine.MachineId);
        Assert.Equal(installedBefore + 1, installed.Count);
        Assert.Equal(SshPublicKey.Parse(newTrust), SshCertificate.Parse(installed[^1].Material.HostCertificate).SignatureKey);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[1700]", StringComparison.Ordinal) && l.Contains("(host CA rotation)", StringComparison.Ordinal));
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[1104]", StringComparison.Ordinal) && l.Contains(HostMaster.Fingerprint, StringComparison.Ordinal));

        // What derives from the server secret does not move with the host CA: a log read token of before still reads.
        Assert.Equal(secret, await File.ReadAllBytesAsync(CaFile("server_secret")));
        Assert.NotNull(tokens.Read(token, execution.StreamId));
        Assert.Equal(UserCa, SshCertificate.Parse(after.Session.Connection.UserCertificate!).SignatureKey);
    }

    [Fact]
    public async Task A_host_rotation_reaches_running_machines_at_the_next_sweep_without_a_session()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var installedBefore = Server.Runtime.HostIdentities(machine.MachineId).Count;

        Assert.Equal(0, (await RotateAsync("--host")).ExitCode);
        await Server.Service<MaintenanceService>().RunOnceAsync();
        await Server.SettleAsync();

        var installed = Server.Runtime.HostIdentities(machine.MachineId);
        Assert.Equal(installedBefore + 1, installed.Count);
        Assert.Equal(
            SshPublicKey.Parse(Server.Service<Dedalus.Server.Ssh.SshAuthority>().MachineHostCaPublicKey(machine.StoreId())),
            SshCertificate.Parse(installed[^1].Material.HostCertificate).SignatureKey);
    }

    [Fact]
    public async Task A_session_does_not_wait_for_a_host_identity_whose_install_fails_after_a_host_rotation()
    {
        var machine = await Api.CreateRunningMachineAsync();
        Assert.Equal(0, (await RotateAsync("--host")).ExitCode);
        Server.Runtime.FailWhen = id => id == machine.StoreId();

        var session = await OpenSessionAsync(machine.MachineId, "during-failure");

        Assert.Equal(SshSessionStatuses.Ready, session.Session.Status);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[1701]", StringComparison.Ordinal) && l.Contains(machine.StoreId(), StringComparison.Ordinal));
        Assert.DoesNotContain(Server.Logs.Lines, l => l.Contains("[1702]", StringComparison.Ordinal));

        // Once installs work again, the sweep gives it the new identity.
        Server.Runtime.FailWhen = null;
        await Server.Service<MaintenanceService>().RunOnceAsync();
        await Server.SettleAsync();
        Assert.Equal(
            SshPublicKey.Parse(session.Session.Connection!.HostTrust!.PublicKey),
            SshCertificate.Parse(Server.Runtime.HostIdentities(machine.MachineId)[^1].Material.HostCertificate).SignatureKey);
    }

    [Fact]
    public async Task Rotations_while_the_server_is_stopped_are_loaded_as_it_starts_with_the_old_user_CA_still_trusted()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var before = await OpenSessionAsync(machine.MachineId, "before");
        var (oldUserCa, oldMaster) = (UserCa, HostMaster);
        ProcessResult user = null!, host = null!;

        await RestartServerAsync(async () =>
        {
            user = await RotateAsync("--user", "--overlap", "2h");
            host = await RotateAsync("--host");
        });
        var after = await OpenSessionAsync(machine.MachineId, "after");

        Assert.True(user.ExitCode == 0 && host.ExitCode == 0, user + "\n" + host);
        Assert.NotEqual(oldUserCa, UserCa);
        Assert.NotEqual(oldMaster, HostMaster);
        Assert.Equal(UserCa, SshCertificate.Parse(after.Session.Connection!.UserCertificate!).SignatureKey);
        Assert.Equal([UserCa, oldUserCa], TrustedByMachines);
        Assert.Equal(SshSessionStatuses.Ready, (await GetSessionAsync(machine.MachineId, before.Session.SessionId)).Status);
        Assert.NotEqual(before.Session.Connection!.HostTrust!.PublicKey, after.Session.Connection.HostTrust!.PublicKey);
        Assert.Equal(
            SshPublicKey.Parse(after.Session.Connection.HostTrust.PublicKey),
            SshCertificate.Parse(Server.Runtime.HostIdentities(machine.MachineId)[^1].Material.HostCertificate).SignatureKey);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[1105]", StringComparison.Ordinal) && l.Contains(oldUserCa.Fingerprint, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ca_files_stay_0600_and_no_private_key_appears_in_output_logs_or_answers()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var privateTexts = new List<string> { await File.ReadAllTextAsync(CaFile("user_ca")), await File.ReadAllTextAsync(CaFile("host_ca")) };
        var outputs = new List<string>();
        var bodies = new List<string> { (await OpenSessionAsync(machine.MachineId, "before")).Body };

        foreach (var arguments in new[] { new[] { "--user" }, ["--host"], ["--user", "--overlap", "0"] })
        {
            var result = await RotateAsync(arguments);
            Assert.True(result.ExitCode == 0, result.ToString());
            outputs.Add(result.StandardOutput + result.StandardError);
            privateTexts.Add(await File.ReadAllTextAsync(CaFile("user_ca")));
            privateTexts.Add(await File.ReadAllTextAsync(CaFile("host_ca")));
            bodies.Add((await OpenSessionAsync(machine.MachineId, "after-" + outputs.Count)).Body);
            await Server.Service<MaintenanceService>().RunOnceAsync();
        }

        var show = await ServerProgram.RunAsync(Work, "ca", "show", "--data-dir", Data.Path);
        outputs.Add(show.StandardOutput + show.StandardError);
        bodies.Add((await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh")).Body);

        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(owner | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(Data.Path, "ca")));
        foreach (var name in new[] { "user_ca", "host_ca", "server_secret", "rotation.lock" })
        {
            Assert.Equal(owner, File.GetUnixFileMode(CaFile(name)));
        }

        foreach (var name in new[] { "user_ca.pub", "host_ca.pub", "user_ca.retired" })
        {
            Assert.Equal(owner | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(CaFile(name)));
        }

        // Nothing but the current keys is left in the directory: the replaced private keys are gone.
        Assert.Equal(
            ["host_ca", "host_ca.pub", "rotation.lock", "server_secret", "user_ca", "user_ca.pub", "user_ca.retired"],
            Directory.GetFiles(Path.Combine(Data.Path, "ca")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var onDisk = string.Concat(Directory.GetFiles(Path.Combine(Data.Path, "ca")).Select(f => File.ReadAllText(f).Replace("\n", "", StringComparison.Ordinal)));
        foreach (var text in privateTexts.Distinct())
        {
            // Any 40-character run of a private key's base64 body would betray it.
            var body = string.Concat(text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));
            foreach (var chunk in body.Chunk(40).Select(c => new string(c)).Where(c => c.Length == 40))
            {
                Assert.DoesNotContain(chunk, Server.Logs.AllText, StringComparison.Ordinal);
                Assert.All(outputs, o => Assert.DoesNotContain(chunk, o, StringComparison.Ordinal));
                Assert.All(bodies, b => Assert.DoesNotContain(chunk, b, StringComparison.Ordinal));
            }

            // The start of every key file is the same header; the end holds the private key.
            var current = text == privateTexts[^1] || text == privateTexts[^2];
            Assert.Equal(current, onDisk.Contains(body[^60..^20], StringComparison.Ordinal));
        }

        Assert.DoesNotContain("PRIVATE KEY", Server.Logs.AllText, StringComparison.Ordinal);
        Assert.All(outputs, o => Assert.DoesNotContain("PRIVATE KEY", o, StringComparison.Ordinal));
    }

    private sealed record OpenedSession(SshSession Session, string Body, string CertificatePath);

    /// <summary>A ready session for a new ssh-keygen key, its certificate written beside the key.</summary>
    private async Task<OpenedSession> OpenSessionAsync(string machineId, string name)
    {
        var (publicKey, keyPath) = await NewClientKeyAsync(name);
        var response = await Api.OpenSessionAsync(machineId, publicKey);
        Assert.True(response.Status == HttpStatusCode.OK, response.ToString());
        var session = response.Session();
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        await File.WriteAllTextAsync(keyPath + "-cert.pub", session.Connection!.UserCertificate + "\n");
        return new OpenedSession(session, response.Body, keyPath + "-cert.pub");
    }

    private async Task<SshSession> GetSessionAsync(string machineId, string sessionId) =>
        (await Api.GetAsync($"/v1/machines/{machineId}/ssh/{sessionId}")).Session();

    private Task<ProcessResult> RotateAsync(params string[] arguments) =>
        ServerProgram.RunAsync(Work, ["ca", "rotate", .. arguments, "--data-dir", Data.Path]);

    private async Task<string> WriteKrlAsync()
    {
        var path = Work.Combine("krl-" + Guid.NewGuid().ToString("N")[..8]);
        await File.WriteAllBytesAsync(path, Server.Runtime.LastTrust!.RevokedKeys.ToArray());
        return path;
    }

    private static Task<ProcessResult> KeygenAsync(params string[] arguments) => ProcessRunner.RunAsync("ssh-keygen", arguments);
}
