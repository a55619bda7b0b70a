using System.Net;
using Dedalus.Machines.Network;
using Dedalus.Machines.Runc;
using Dedalus.Testing.Network;

namespace Dedalus.Machines.Tests;

/// <summary>
/// A runc runtime with machine networking on its own <see cref="NetworkTestSlot"/> (instance, subnet) and an
/// <see cref="InternetNamespace"/> as the only upstream of its DNS forwarder. Dispose deletes every machine, shuts the
/// network down and removes the namespace, links, rules and tables, even after a failed test.
/// </summary>
public sealed class MachineNetworkFixture : IAsyncLifetime
{
    private readonly RuncDataDirectory _data = new("dedalus-machines-net-");
    private int _counter;

    public NetworkTestSlot Slot { get; private set; } = null!;

    public InternetNamespace Internet { get; private set; } = null!;

    public RuncRuntimeOptions Options { get; private set; } = null!;

    public RuncMachineRuntime Runtime { get; private set; } = null!;

    public TempDirectory Keys { get; } = new("dedalus-machines-net-keys-");

    public string HostCaPath => Keys.Combine("host_ca");

    public async Task InitializeAsync()
    {
        Slot = await NetworkTestSlot.AcquireAsync();
        Internet = await InternetNamespace.CreateAsync(Slot);
        Options = new RuncRuntimeOptions
        {
            DataDirectory = _data.Combine("data"),
            Network = new MachineNetworkOptions
            {
                Instance = Slot.Instance,
                Subnet = IPNetwork.Parse(Slot.MachineSubnet),
                DnsUpstreams = [IPAddress.Parse(Internet.Address)],
            },
        };
        Runtime = new RuncMachineRuntime(Options);
        await Runtime.BaseImage.EnsureAsync().WaitAsync(TimeSpan.FromMinutes(15));
        await Tools.CheckedAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "host-ca", "-f", HostCaPath);
        await Tools.CheckedAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "user-ca", "-f", Keys.Combine("user_ca"));
        var userCa = (await File.ReadAllTextAsync(Keys.Combine("user_ca.pub"))).Trim();
        await Runtime.WriteSshTrustAsync(new MachineSshTrust([userCa], ReadOnlyMemory<byte>.Empty));
    }

    /// <summary>A new machine with the <paramref name="k"/>th address of the slot and <paramref name="policy"/>, started.</summary>
    public async Task<(string Id, string Address)> StartMachineAsync(int k, MachineNetworkPolicy? policy = null, bool start = true)
    {
        var id = $"dm-net-{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}-{Guid.NewGuid().ToString("N")[..6]}";
        _data.Track(id);
        var address = Slot.MachineAddress(k);
        var network = new MachineNetwork(IPAddress.Parse(address), policy ?? MachineNetworkPolicy.Default);
        await Runtime.CreateAsync(new MachineSpec(id, new MachineResources(1, 512, 1), await HostMaterialAsync(id), network))
            .WaitAsync(MachineRuntimeFixture.Timeout);
        if (start)
        {
            await Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        }

        return (id, address);
    }

    /// <summary>A second runtime on the same data directory, as a restarted server makes it.</summary>
    public RuncMachineRuntime NewRuntime() => new(Options);

    public async Task DisposeAsync()
    {
        try
        {
            if (Runtime is not null)
            {
                // Machines first, then the network (it stays while a machine runs), then whatever a failure left.
                var machines = await Runtime.ListAsync();
                try
                {
                    foreach (var id in machines)
                    {
                        await Runtime.DeleteAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
                    }
                }
                finally
                {
                    try
                    {
                        await Runtime.ShutdownNetworkAsync().WaitAsync(MachineRuntimeFixture.Timeout);
                    }
                    finally
                    {
                        await _data.RemoveAsync(Options.RuncRoot, machines, id => Runtime.DeleteAsync(id).WaitAsync(MachineRuntimeFixture.Timeout));
                    }
                }
            }
        }
        finally
        {
            Keys.Dispose();
            if (Internet is not null)
            {
                await Internet.DisposeAsync();
            }

            Slot?.Dispose();
        }
    }

    private async Task<MachineSshMaterial> HostMaterialAsync(string machineId)
    {
        var key = Keys.Combine($"host-{machineId}");
        await Tools.CheckedAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key);
        await Tools.CheckedAsync("ssh-keygen", "-q", "-s", HostCaPath, "-h", "-I", machineId, "-n", machineId, "-V", "-5m:+1h", key + ".pub");
        return new MachineSshMaterial(await File.ReadAllTextAsync(key), await File.ReadAllTextAsync(key + "-cert.pub"));
    }
}
