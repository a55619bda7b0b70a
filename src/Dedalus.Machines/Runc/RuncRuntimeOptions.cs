using Dedalus.Machines.Images;
using Dedalus.Machines.Network;

namespace Dedalus.Machines.Runc;

/// <summary>Configuration of <see cref="RuncMachineRuntime"/>: where machines live and how they are confined.</summary>
public sealed record RuncRuntimeOptions
{
    /// <summary>
    /// Root of the runtime's state: <c>machines/&lt;id&gt;/...</c>, <c>ssh-trust/</c>, <c>runc/</c>. Every ancestor must be
    /// traversable by others (at least mode 0711): the machines' mapped root reaches its bundle through them.
    /// </summary>
    public required string DataDirectory { get; init; }

    /// <summary>Cache of the shared base userland (<c>&lt;dir&gt;/&lt;version&gt;/rootfs</c>); shared by every data directory.</summary>
    public string BaseCacheDirectory { get; init; } = BaseImageDefaults.CacheDirectory;

    /// <summary>The Debian mirror debootstrap reads on first run.</summary>
    public string DebianMirror { get; init; } = BaseImageDefaults.DebianMirror;

    /// <summary>Path of the <c>runc</c> binary.</summary>
    public string RuncPath { get; init; } = "runc";

    /// <summary>
    /// The host uid and gid range (from here, <see cref="UidMapSize"/> ids) that owns the shared files every machine sees
    /// through an idmapped view: the base userland and the host tree. Machines created before each machine had a range
    /// of its own ran in it, and every machine does with <see cref="MachineUids"/> null.
    /// </summary>
    public int SharedUidBase { get; init; } = 100000;

    /// <summary>Size of the uid and gid range mapped into every machine.</summary>
    public int UidMapSize { get; init; } = 65536;

    /// <summary>
    /// The host uid ranges machines get one each of (root inside = the range's first uid); null: every machine runs in
    /// the shared range (<see cref="SharedUidBase"/>), as before per-machine ranges (for file systems without idmapped
    /// mounts).
    /// </summary>
    public MachineUidPool? MachineUids { get; init; } = MachineUidPool.Default;

    /// <summary>
    /// The host-wide record of which machine holds which range (<see cref="MachineUids"/>): one file per range in use,
    /// shared by every data directory on the host, since uids are a host resource.
    /// </summary>
    public string UidRangeRegistry { get; init; } = MachineUidPool.DefaultRegistry;

    /// <summary>Maximum number of processes inside one machine.</summary>
    public long PidsLimit { get; init; } = 1024;

    /// <summary>Machine networking (an interface, NAT, DNS, egress policy per machine); null: loopback only.</summary>
    public MachineNetworkOptions? Network { get; init; }

    /// <summary>Timeout of each host command (runc, mount, mkfs) the runtime runs.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The runc state directory (<c>runc --root</c>): containers in it are this runtime's.</summary>
    public string RuncRoot => Path.Combine(DataDirectory, "runc");

    /// <summary>The host-wide SSH trust directory (user CA keys, KRL) bind-mounted read-only into every machine.</summary>
    public string SshTrustDirectory => Path.Combine(DataDirectory, "ssh-trust");

    /// <summary>The host-owned tree (sshd, init, busybox) bind-mounted read-only into every machine.</summary>
    public string HostTreeDirectory => Path.Combine(DataDirectory, "host-tree");

    /// <summary>The directory holding one subdirectory per machine.</summary>
    public string MachinesDirectory => Path.Combine(DataDirectory, "machines");
}
