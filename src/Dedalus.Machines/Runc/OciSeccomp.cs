using System.Runtime.InteropServices;
using System.Text.Json;

namespace Dedalus.Machines.Runc;

/// <summary>
/// A deny-list seccomp filter (config-linux.md "Seccomp"): everything is allowed except kernel surfaces a machine does
/// not need and that a user namespace would otherwise open (nested user namespaces, keyrings, BPF, perf, io_uring, module
/// loading, kexec, clock setting, userfaultfd). The user namespace and dropped capabilities stay the main fence.
/// </summary>
internal static class OciSeccomp
{
    private const int Eperm = 1;
    private const int Enosys = 38;
    private const long CloneNewUser = 0x10000000;

    private static readonly string[] Denied =
    [
        "add_key", "request_key", "keyctl", "bpf", "perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load",
        "init_module", "finit_module", "delete_module", "open_by_handle_at", "name_to_handle_at", "swapon", "swapoff",
        "reboot", "acct", "lookup_dcookie", "quotactl", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
        "setns", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",

        // io_uring: its own large kernel surface, the source of many local privilege escalations, and its operations
        // run in kernel workers this filter never sees. Docker's default profile refuses it too; libraries fall back.
        "io_uring_setup", "io_uring_enter", "io_uring_register",
    ];

    public static void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject("seccomp");
        w.WriteString("defaultAction", "SCMP_ACT_ALLOW");
        w.WriteStartArray("architectures");
        foreach (var architecture in Architectures())
        {
            w.WriteStringValue(architecture);
        }

        w.WriteEndArray();
        w.WriteStartArray("syscalls");
        WriteRule(w, Denied, Eperm);
        // clone3 passes its flags in memory, out of a filter's reach: ENOSYS makes libc fall back to clone.
        WriteRule(w, ["clone3"], Enosys);
        foreach (var call in new[] { "clone", "unshare" })
        {
            w.WriteStartObject();
            w.WriteStartArray("names");
            w.WriteStringValue(call);
            w.WriteEndArray();
            w.WriteString("action", "SCMP_ACT_ERRNO");
            w.WriteNumber("errnoRet", Eperm);
            w.WriteStartArray("args");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteNumber("value", CloneNewUser);
            w.WriteNumber("valueTwo", CloneNewUser);
            w.WriteString("op", "SCMP_CMP_MASKED_EQ");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteRule(Utf8JsonWriter w, IEnumerable<string> names, int errno)
    {
        w.WriteStartObject();
        w.WriteStartArray("names");
        foreach (var name in names)
        {
            w.WriteStringValue(name);
        }

        w.WriteEndArray();
        w.WriteString("action", "SCMP_ACT_ERRNO");
        w.WriteNumber("errnoRet", errno);
        w.WriteEndObject();
    }

    /// <summary>The native architecture and its compat ABIs, so a 32-bit syscall cannot slip past the filter.</summary>
    private static string[] Architectures() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        Architecture.Arm64 => ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        _ => [],
    };
}
