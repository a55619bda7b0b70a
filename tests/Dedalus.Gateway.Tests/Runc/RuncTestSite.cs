using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Dedalus.Machines.Network;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Runtime;
using Dedalus.OpenSsh;
using Dedalus.Testing.Network;

namespace Dedalus.Gateway.Tests.Runc;

/// <summary>
/// Real runc machines for gateway tests and the bench: a private runtime data directory (0711, as
/// runc's mapped root must traverse it) on the shared base cache, a host CA and a user CA made by
/// Dedalus.OpenSsh (not ssh-keygen), host certificates for each machine, user certificates per
/// session, and the KRL. Clients get a known_hosts file with only the host CA. Dispose removes every
/// machine, container, mount and file, even after a failed test. Created with a network, the runtime gives every
/// machine an address on a <see cref="NetworkTestSlot"/> (its DNS forwarder's only upstream an
/// <see cref="InternetNamespace"/> of the site's own); dispose then also shuts the network down and frees the slot.
/// </summary>
public sealed class RuncTestSite : ISshClientSite, IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private readonly RuncDataDirectory _data;
    private readonly SshPrivateKey _hostCaKey = SshPrivateKey.GenerateEd25519();
    private readonly SshPrivateKey _userCaKey = SshPrivateKey.GenerateEd25519();
    private readonly SshCertificateAuthority _hostCa;
    private readonly SshCertificateAuthority _userCa;
    private readonly List<ulong> _revoked = [];
    private readonly SemaphoreSlim _trustLock = new(1, 1);
    private long _nextSerial;
    private readonly ConcurrentDictionary<string, IPAddress> _addresses = new(StringComparer.Ordinal);
    private ulong _krlVersion;
    private int _nextAddress;
    private int _disposed;

    private RuncTestSite(string purpose, long pidsLimit, NetworkTestSlot? slot, InternetNamespace? internet)
    {
        _data = new RuncDataDirectory($"dedalus-{purpose}-");
        Keys = new TempDirectory($"dedalus-{purpose}-keys-");
        Slot = slot;
        Internet = internet;
        Options = new RuncRuntimeOptions
        {
            DataDirectory = _data.Combine("data"),
            PidsLimit = pidsLimit,
            Network = slot is null || internet is null ? null : new MachineNetworkOptions
            {
                Instance = slot.Instance,
                Subnet = IPNetwork.Parse(slot.MachineSubnet),
                DnsUpstreams = [IPAddress.Parse(internet.Address)],
            },
        };
        Runtime = new RuncMachineRuntime(Options);
        _hostCa = new SshCertificateAuthority(_hostCaKey);
        _userCa = new SshCertificateAuthority(_userCaKey);
        KnownHostsFile = Keys.WriteFile("known_hosts", $"@cert-authority 127.0.0.1,[127.0.0.1]:* {_hostCa.PublicKey.ToOpenSshString()}\n");
        UserCaPublicKey = _userCa.PublicKey.ToOpenSshString();
    }

    public TempDirectory Keys { get; }

    /// <summary>The network slot of a site with a network (null without).</summary>
    public NetworkTestSlot? Slot { get; }

    /// <summary>The "internet" namespace of a site with a network (null without).</summary>
    public InternetNamespace? Internet { get; }

    /// <summary>The host-side address machines see as their gateway, where the gateway's connections to their sshd come from.</summary>
    public IPAddress GatewayAddress => Slot is null ? throw new InvalidOperationException("the site has no network") : IPAddress.Parse(Slot.GatewayAddress);

    public RuncRuntimeOptions Options { get; }

    /// <summary>The runtime every test starts with (a test may build a second one on the same options).</summary>
    public RuncMachineRuntime Runtime { get; }

    public string KnownHostsFile { get; }

    public string LoginUser => "machine";

    public string UserCaPublicKey { get; }

    /// <summary>Creates the site: base userland (cached), and the SSH trust (user CA, empty KRL); with <paramref name="network"/>, a network per machine.</summary>
    public static async Task<RuncTestSite> CreateAsync(string purpose, long pidsLimit = 1024, bool network = false)
    {
        NetworkTestSlot? slot = null;
        InternetNamespace? internet = null;
        if (network)
        {
            slot = await NetworkTestSlot.AcquireAsync();
            try
            {
                internet = await InternetNamespace.CreateAsync(slot);
            }
            catch
            {
                slot.Dispose();
                throw;
            }
        }

        var site = new RuncTestSite(purpose, pidsLimit, slot, internet);
        try
        {
            await site.Runtime.BaseImage.EnsureAsync().WaitAsync(TimeSpan.FromMinutes(15));
            await site.WriteTrustAsync();
            return site;
        }
        catch
        {
            await site.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates a machine (host key and certificate from our host CA) and, by default, starts it.</summary>
    public async Task<string> CreateMachineAsync(bool start = true, MachineResources? resources = null)
    {
        var id = $"dm-{Guid.NewGuid()}";
        _data.Track(id);

        using var hostKey = SshPrivateKey.GenerateEd25519();
        var now = DateTimeOffset.UtcNow;
        var certificate = _hostCa.Issue(new SshCertificateSpec
        {
            Key = hostKey.PublicKey,
            Type = SshCertificateType.Host,
            Serial = NextSerial(),
            KeyId = id,
            Principals = [id, "127.0.0.1", "localhost"],
            ValidAfter = now.AddMinutes(-5),
            ValidBefore = now.AddDays(1),
        });
        var material = new MachineSshMaterial(hostKey.ToOpenSshFormat(), certificate.ToOpenSshString());
        MachineNetwork? network = null;
        if (Slot is not null)
        {
            var address = IPAddress.Parse(Slot.MachineAddress(Interlocked.Increment(ref _nextAddress)));
            _addresses[id] = address;
            network = new MachineNetwork(address, MachineNetworkPolicy.Default);
        }

        await Runtime.CreateAsync(new MachineSpec(id, resources ?? new MachineResources(1, 512, 1), material, network)).WaitAsync(Timeout);
        if (start)
        {
            await Runtime.StartAsync(id).WaitAsync(Timeout);
        }

        return id;
    }

    /// <summary>The machine's sshd endpoint (its address, port 22) on a site with a network; null for an unknown machine or without a network.</summary>
    public IPEndPoint? SshEndPointOf(string machineId) =>
        _addresses.TryGetValue(machineId, out var address) ? new IPEndPoint(address, Machines.Ssh.MachineSshd.ListenPort) : null;

    /// <summary>
    /// A fresh Ed25519 key and a user certificate from our user CA (key id = session id, principal =
    /// <paramref name="machineId"/>, a unique serial), written as files the OpenSSH client reads.
    /// </summary>
    public UserIdentity IssueUser(string machineId, string? sessionId = null)
    {
        using var key = SshPrivateKey.GenerateEd25519();
        var serial = NextSerial();
        sessionId ??= $"sess-{serial.ToString(CultureInfo.InvariantCulture)}";
        var now = DateTimeOffset.UtcNow;
        var certificate = _userCa.Issue(new SshCertificateSpec
        {
            Key = key.PublicKey,
            Type = SshCertificateType.User,
            Serial = serial,
            KeyId = sessionId,
            Principals = [machineId],
            ValidAfter = now.AddMinutes(-2),
            ValidBefore = now.AddHours(1),
            Extensions = SshCertificateSpec.DefaultUserExtensions,
        });
        var name = $"user-{serial.ToString(CultureInfo.InvariantCulture)}";
        var privateKey = Keys.WriteFile(name, key.ToOpenSshFormat());
        var certificateFile = Keys.WriteFile(name + "-cert.pub", certificate.ToOpenSshString() + "\n");
        return new UserIdentity(privateKey, certificateFile, sessionId, serial);
    }

    /// <summary>Adds <paramref name="serial"/> to our KRL and installs it (the runtime's host-wide trust).</summary>
    public async Task RevokeAsync(ulong serial)
    {
        lock (_revoked)
        {
            _revoked.Add(serial);
        }

        await WriteTrustAsync();
    }

    /// <summary>How many processes inside the machine <c>pgrep -c</c> counts with <paramref name="pgrepArguments"/> (pgrep does not count itself).</summary>
    public async Task<int> CountProcessesAsync(string machineId, params string[] pgrepArguments)
    {
        await using var process = await Runtime.ExecAsync(machineId, new MachineExecRequest(["pgrep", "-c", .. pgrepArguments])).WaitAsync(Timeout);
        await process.StandardInput.DisposeAsync().AsTask().WaitAsync(Timeout);
        using var cts = new CancellationTokenSource(Timeout);
        var output = await new StreamReader(process.StandardOutput).ReadToEndAsync(cts.Token);
        await process.Exited.WaitAsync(Timeout);
        return int.Parse(output.Trim(), CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            var machines = await Runtime.ListAsync();
            try
            {
                if (Slot is not null)
                {
                    // Machines first, then the network (it stays while a machine runs); the data directory last.
                    try
                    {
                        foreach (var id in machines)
                        {
                            await Runtime.DeleteAsync(id).WaitAsync(Timeout);
                        }
                    }
                    finally
                    {
                        await Runtime.ShutdownNetworkAsync().WaitAsync(Timeout);
                    }
                }
            }
            finally
            {
                await _data.RemoveAsync(Options.RuncRoot, machines, id => Runtime.DeleteAsync(id).WaitAsync(Timeout));
            }
        }
        finally
        {
            if (Internet is not null)
            {
                await Internet.DisposeAsync();
            }

            Slot?.Dispose();
            Keys.Dispose();
            _hostCaKey.Dispose();
            _userCaKey.Dispose();
            _trustLock.Dispose();
        }
    }

    private ulong NextSerial() => (ulong)Interlocked.Increment(ref _nextSerial);

    private async Task WriteTrustAsync()
    {
        await _trustLock.WaitAsync();
        try
        {
            ulong[] revoked;
            lock (_revoked)
            {
                revoked = [.. _revoked];
            }

            byte[] krl = [];
            if (revoked.Length > 0)
            {
                var builder = new SshKeyRevocationListBuilder(_userCa.PublicKey);
                foreach (var serial in revoked)
                {
                    builder.RevokeSerial(serial);
                }

                krl = builder.Build(++_krlVersion, DateTimeOffset.UtcNow);
            }

            await Runtime.WriteSshTrustAsync(new MachineSshTrust([UserCaPublicKey], krl)).WaitAsync(Timeout);
        }
        finally
        {
            _trustLock.Release();
        }
    }
}
