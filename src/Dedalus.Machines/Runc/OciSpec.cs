using System.Globalization;
using System.Text.Json;
using Dedalus.Machines.Host;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Runc;

/// <summary>
/// Writes the OCI runtime specification (config-linux.md, config.md of opencontainers/runtime-spec 1.0.2) of a
/// machine and the process specifications of <c>runc exec --process</c>.
/// </summary>
internal static class OciSpec
{
    public const long CpuPeriod = 100_000;

    /// <summary>The capabilities root inside keeps: what sshd (privilege separation) and sudo need, little more.</summary>
    public static readonly IReadOnlyList<string> Capabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE",
    ];

    /// <summary>
    /// The init: tini reaps orphans (sshd sessions, user daemons) and keeps the machine alive. Both it and its one child
    /// are the host tree's programs, execute-only for root inside and therefore non-dumpable: their stdout and stderr
    /// are the host's console log, which root inside can neither open through <c>/proc/1/fd</c> nor write to by ptrace.
    /// </summary>
    public static readonly IReadOnlyList<string> InitArguments =
    [
        MachineSshd.HostTreeMountPoint + MachineSshd.InitPath, "-s", "--",
        MachineSshd.HostTreeMountPoint + MachineSshd.BusyboxPath, "sleep", "2147483647",
    ];

    /// <summary>
    /// The most the init may write to the console log (RLIMIT_FSIZE, a hard limit root inside cannot raise: that needs
    /// CAP_SYS_RESOURCE on the host). A bound behind the bound: nothing inside can make the init write.
    /// </summary>
    public const long ConsoleLogLimitBytes = 1024 * 1024;

    private const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private static readonly string[] MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    ];

    private static readonly string[] ReadonlyPaths =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true };

    /// <summary>cgroup v2, or v1 with swap accounting (memory.memsw.*): runc can cap swap.</summary>
    public static bool SwapLimitSupported { get; } =
        !File.Exists("/sys/fs/cgroup/memory/memory.limit_in_bytes") || File.Exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");

    public static long CpuQuota(double vcpu) => (long)Math.Round(vcpu * CpuPeriod);

    public static long MemoryBytes(long memoryMib) => memoryMib * 1024 * 1024;

    public static void WriteConfig(Stream stream, string machineId, MachinePaths paths, MachineManifest record, RuncRuntimeOptions options)
    {
        using var w = new Utf8JsonWriter(stream, WriterOptions);
        w.WriteStartObject();
        w.WriteString("ociVersion", "1.0.2");

        w.WritePropertyName("process");
        WriteProcess(w, InitArguments, uid: 0, gid: 0, [], "/", ["HOME=/root"], root: true, fileSizeLimit: ConsoleLogLimitBytes);

        w.WriteStartObject("root");
        w.WriteString("path", paths.RootFs);
        w.WriteBoolean("readonly", false);
        w.WriteEndObject();

        w.WriteString("hostname", machineId);
        WriteMounts(w, paths, record, options);
        WriteLinux(w, machineId, record, options);
        w.WriteEndObject();
    }

    public static void WriteExecProcess(
        Stream stream, IReadOnlyList<string> arguments, int uid, int gid, IReadOnlyList<int> additionalGids, string cwd, IReadOnlyList<string> environment)
    {
        using var w = new Utf8JsonWriter(stream, WriterOptions);
        WriteProcess(w, arguments, uid, gid, additionalGids, cwd, environment, root: uid == 0, fileSizeLimit: null);
    }

    private static void WriteProcess(
        Utf8JsonWriter w,
        IReadOnlyList<string> arguments,
        int uid,
        int gid,
        IReadOnlyList<int> additionalGids,
        string cwd,
        IReadOnlyList<string> environment,
        bool root,
        long? fileSizeLimit)
    {
        w.WriteStartObject();
        w.WriteBoolean("terminal", false);
        w.WriteStartObject("user");
        w.WriteNumber("uid", uid);
        w.WriteNumber("gid", gid);
        if (additionalGids.Count > 0)
        {
            w.WriteStartArray("additionalGids");
            foreach (var additional in additionalGids)
            {
                w.WriteNumberValue(additional);
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
        WriteStrings(w, "args", arguments);
        WriteStrings(w, "env", [DefaultPath, .. environment]);
        w.WriteString("cwd", cwd);

        // Root holds the kept capabilities; another user holds none but may regain them through setuid sudo
        // (the bounding set caps what it gets back). noNewPrivileges stays false for the same reason.
        w.WriteStartObject("capabilities");
        WriteStrings(w, "bounding", Capabilities);
        WriteStrings(w, "effective", root ? Capabilities : []);
        WriteStrings(w, "permitted", root ? Capabilities : []);
        WriteStrings(w, "inheritable", []);
        WriteStrings(w, "ambient", []);
        w.WriteEndObject();
        w.WriteBoolean("noNewPrivileges", false);
        if (fileSizeLimit is { } limit)
        {
            w.WriteStartArray("rlimits");
            w.WriteStartObject();
            w.WriteString("type", "RLIMIT_FSIZE");
            w.WriteNumber("hard", limit);
            w.WriteNumber("soft", limit);
            w.WriteEndObject();
            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private static void WriteMounts(Utf8JsonWriter w, MachinePaths paths, MachineManifest record, RuncRuntimeOptions options)
    {
        w.WriteStartArray("mounts");
        WriteMount(w, "/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]);
        WriteMount(w, "/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]);
        WriteMount(w, "/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]);
        WriteMount(w, "/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
        WriteMount(w, "/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]);
        WriteMount(w, "/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]);
        WriteMount(w, "/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", "ro"]);
        WriteMount(w, MachineSshd.HomeDirectory, "bind", paths.Home, ["rbind", "nosuid", "nodev"]);

        // The host tree (see HostTree; a machine in its own uid range binds its idmapped view of it), then the
        // per-machine sshd configuration and the host-wide trust inside it. Mounts made by runc are the only ones: root
        // inside has no CAP_SYS_ADMIN to add, remove or cover any.
        var hostTree = UidBaseOf(record, options) == options.SharedUidBase ? options.HostTreeDirectory : paths.HostTree;
        WriteMount(w, MachineSshd.HostTreeMountPoint, "bind", hostTree, ["bind", "ro", "nosuid", "nodev"]);
        WriteMount(w, MachineSshd.HostTreeMountPoint + MachineSshd.ConfigDirectory, "bind", paths.Ssh, ["bind", "ro", "nosuid", "nodev", "noexec"]);
        WriteMount(w, MachineSshd.HostTreeMountPoint + MachineSshd.TrustDirectory, "bind", options.SshTrustDirectory, ["bind", "ro", "nosuid", "nodev", "noexec"]);
        w.WriteEndArray();
    }

    private static void WriteLinux(Utf8JsonWriter w, string machineId, MachineManifest record, RuncRuntimeOptions options)
    {
        w.WriteStartObject("linux");
        foreach (var name in new[] { "uidMappings", "gidMappings" })
        {
            w.WriteStartArray(name);
            w.WriteStartObject();
            w.WriteNumber("containerID", 0);
            w.WriteNumber("hostID", UidBaseOf(record, options));
            w.WriteNumber("size", options.UidMapSize);
            w.WriteEndObject();
            w.WriteEndArray();
        }

        w.WriteStartArray("namespaces");
        foreach (var ns in new[] { "pid", "network", "ipc", "uts", "mount", "user" })
        {
            w.WriteStartObject();
            w.WriteString("type", ns);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("cgroupsPath", CgroupsPath(machineId));

        w.WriteStartObject("resources");
        w.WriteStartArray("devices");
        w.WriteStartObject();
        w.WriteBoolean("allow", false);
        w.WriteString("access", "rwm");
        w.WriteEndObject();
        w.WriteEndArray();
        // Holding at the limit (see MemoryCgroup): on v1 the OOM killer disabled; on v2 the limit is memory.high (set
        // through runc's unified map) below a hard limit at the ceiling.
        var holdOnUnified = record.MemoryHoldAtLimit && MemoryCgroup.HostIsUnified;
        var memory = MemoryBytes(holdOnUnified ? record.MemoryHardLimitMib : record.MemoryMib);
        w.WriteStartObject("memory");
        w.WriteNumber("limit", memory);
        if (SwapLimitSupported)
        {
            // memory + swap = memory: no swap.
            w.WriteNumber("swap", memory);
        }

        if (record.MemoryHoldAtLimit && !MemoryCgroup.HostIsUnified)
        {
            w.WriteBoolean("disableOOMKiller", true);
        }

        w.WriteEndObject();
        w.WriteStartObject("cpu");
        w.WriteNumber("quota", CpuQuota(record.Vcpu));
        w.WriteNumber("period", CpuPeriod);
        w.WriteEndObject();
        w.WriteStartObject("pids");
        w.WriteNumber("limit", options.PidsLimit);
        w.WriteEndObject();
        if (holdOnUnified)
        {
            w.WriteStartObject("unified");
            w.WriteString("memory.high", Invariant(MemoryBytes(record.MemoryMib)));
            w.WriteEndObject();
        }

        w.WriteEndObject();

        OciSeccomp.Write(w);
        WriteStrings(w, "maskedPaths", MaskedPaths);
        WriteStrings(w, "readonlyPaths", ReadonlyPaths);
        w.WriteEndObject();
    }

    private static int UidBaseOf(MachineManifest record, RuncRuntimeOptions options) => record.UidBase ?? options.SharedUidBase;

    /// <summary>The machine's cgroup, below each v1 hierarchy (or the v2 root).</summary>
    public static string CgroupsPath(string machineId) => "/dedalus/" + machineId;

    private static void WriteMount(Utf8JsonWriter w, string destination, string type, string source, IReadOnlyList<string> mountOptions)
    {
        w.WriteStartObject();
        w.WriteString("destination", destination);
        w.WriteString("type", type);
        w.WriteString("source", source);
        WriteStrings(w, "options", mountOptions);
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }

    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
