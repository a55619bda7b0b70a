namespace Dedalus.Machines.Runc;

/// <summary>
/// Layout of one machine under <c>&lt;data&gt;/machines/&lt;id&gt;/</c>:
/// <c>machine.json</c> (record), <c>bundle/config.json</c> (OCI), <c>rootfs</c> (overlay mount point),
/// <c>changes/upper</c> and <c>changes/work</c> (overlay, on a tmpfs mounted at every wake), <c>lower</c> and
/// <c>host-tree</c> (the shared files' idmapped views, mounted at every wake for a machine in its own uid range), <c>home.img</c> (sparse ext4) mounted at <c>home</c>,
/// <c>ssh/</c> (sshd configuration, host key and certificate, mounted in the host tree), <c>exec/</c> (per-exec process
/// specs, removed when the process ends and at every sleep), <c>console.log</c> and <c>runc.log</c> (this wake's and,
/// as <c>.1</c>, the previous one's; the init may write at most 1 MiB).
/// </summary>
internal sealed class MachinePaths(string machinesDirectory, string machineId)
{
    public string Root { get; } = Path.Combine(machinesDirectory, machineId);

    public string Record => Path.Combine(Root, "machine.json");

    public string Bundle => Path.Combine(Root, "bundle");

    public string ConfigJson => Path.Combine(Bundle, "config.json");

    public string RootFs => Path.Combine(Root, "rootfs");

    /// <summary>A tmpfs (mounted at each wake) holding the overlay's upper and work directories: the root file system's changes.</summary>
    public string Changes => Path.Combine(Root, "changes");

    public string Upper => Path.Combine(Changes, "upper");

    public string Work => Path.Combine(Changes, "work");

    /// <summary>The base userland as this machine sees it (an idmapped mount made at each wake): the overlay's lower layer.</summary>
    public string Lower => Path.Combine(Root, "lower");

    /// <summary>The host tree as this machine sees it (an idmapped mount made at each wake): the source of its bind mount.</summary>
    public string HostTree => Path.Combine(Root, "host-tree");

    public string HomeImage => Path.Combine(Root, "home.img");

    public string Home => Path.Combine(Root, "home");

    /// <summary>Present when the image grew but its file system could not grow online: done offline at the next wake.</summary>
    public string HomeGrowPending => Path.Combine(Root, "home.grow-pending");

    public string Ssh => Path.Combine(Root, "ssh");

    public string Exec => Path.Combine(Root, "exec");

    public string ConsoleLog => Path.Combine(Root, "console.log");

    public string RuncLog => Path.Combine(Root, "runc.log");
}
