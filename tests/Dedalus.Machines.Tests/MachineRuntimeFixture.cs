using Dedalus.Machines.Runc;

namespace Dedalus.Machines.Tests;

/// <summary>
/// A runc runtime on a private data directory (one per test class), with a host CA and a user CA made by
/// ssh-keygen. The base userland cache is shared across classes and runs. Every machine, mount and container
/// is removed on dispose, even when a test failed.
/// </summary>
public sealed class MachineRuntimeFixture : IAsyncLifetime
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly RuncDataDirectory _data = new("dedalus-machines-");
    private int _counter;

    public MachineRuntimeFixture()
    {
        Keys = new TempDirectory("dedalus-machines-keys-");
        Options = new RuncRuntimeOptions { DataDirectory = _data.Combine("data") };
        Runtime = new RuncMachineRuntime(Options);
    }

    /// <summary>The host directory that holds the runtime's data directory.</summary>
    public string DataDirectory => _data.Path;

    public TempDirectory Keys { get; }

    public RuncRuntimeOptions Options { get; }

    public RuncMachineRuntime Runtime { get; }

    public string HostCaPublicKey { get; private set; } = "";

    public string UserCaPublicKey { get; private set; } = "";

    public string HostCaPath => Keys.Combine("host_ca");

    public string UserCaPath => Keys.Combine("user_ca");

    public async Task InitializeAsync()
    {
        await Runtime.BaseImage.EnsureAsync().WaitAsync(TimeSpan.FromMinutes(15));
        await Tools.CheckedAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "host-ca", "-f", HostCaPath);
        await Tools.CheckedAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "user-ca", "-f", UserCaPath);
        HostCaPublicKey = (await File.ReadAllTextAsync(HostCaPath + ".pub")).Trim();
        UserCaPublicKey = (await File.ReadAllTextAsync(UserCaPath + ".pub")).Trim();
        await Runtime.WriteSshTrustAsync(new MachineSshTrust([UserCaPublicKey], ReadOnlyMemory<byte>.Empty));
    }

    /// <summary>A new machine id, unique per fixture and run.</summary>
    public string NewMachineId()
    {
        var id = $"dm-test-{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}-{Guid.NewGuid().ToString("N")[..8]}";
        _data.Track(id);
        return id;
    }

    /// <summary>Creates (with a host key and certificate from the test host CA) and starts a machine.</summary>
    public async Task<string> StartMachineAsync(MachineResources? resources = null, bool start = true)
    {
        var id = NewMachineId();
        await Runtime.CreateAsync(new MachineSpec(id, resources ?? new MachineResources(1, 512, 1), await HostMaterialAsync(id)))
            .WaitAsync(Timeout);
        if (start)
        {
            await Runtime.StartAsync(id).WaitAsync(Timeout);
        }

        return id;
    }

    /// <summary>A host key and a host certificate for the machine and the loopback address, via ssh-keygen.</summary>
    public async Task<MachineSshMaterial> HostMaterialAsync(string machineId)
    {
        var key = Keys.Combine($"host-{machineId}");
        await Tools.CheckedAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key);
        await Tools.CheckedAsync("ssh-keygen", "-q", "-s", HostCaPath, "-h", "-I", machineId, "-n", $"{machineId},127.0.0.1,localhost", "-V", "-5m:+1h", key + ".pub");
        return new MachineSshMaterial(await File.ReadAllTextAsync(key), await File.ReadAllTextAsync(key + "-cert.pub"));
    }

    /// <summary>A key and a user certificate from the test user CA for <paramref name="principal"/>.</summary>
    public async Task<string> UserCertificateAsync(string principal, int serial)
    {
        var key = Keys.Combine($"user-{Guid.NewGuid():N}");
        await Tools.CheckedAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key);
        await Tools.CheckedAsync("ssh-keygen", "-q", "-s", UserCaPath, "-I", $"session-{serial}", "-n", principal,
            "-z", serial.ToString(System.Globalization.CultureInfo.InvariantCulture), "-V", "-5m:+1h", key + ".pub");
        return key;
    }

    /// <summary>Real ssh to 127.0.0.1:<paramref name="port"/> as the machine user, trusting only the test host CA (strictly).</summary>
    public Task<ProcessResult> SshAsync(int port, string key, string command)
    {
        var knownHosts = Keys.WriteFile($"known_hosts-{Guid.NewGuid():N}", $"@cert-authority * {HostCaPublicKey}\n");
        return ProcessRunner.RunAsync(
            "ssh",
            [
                "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", $"UserKnownHostsFile={knownHosts}", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20", "-i", key, "-o", $"CertificateFile={key}-cert.pub",
                "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "machine@127.0.0.1", command,
            ],
            timeout: TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _data.RemoveAsync(Options.RuncRoot, await Runtime.ListAsync(), id => Runtime.DeleteAsync(id).WaitAsync(Timeout));
        }
        finally
        {
            Keys.Dispose();
        }
    }
}
