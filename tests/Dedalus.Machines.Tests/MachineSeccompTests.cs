using System.Runtime.InteropServices;

namespace Dedalus.Machines.Tests;

/// <summary>
/// The seccomp filter refuses what it claims, for root inside (with sudo's capabilities) and for the machine user:
/// raw system calls through perl (in the base), so that no libc fallback hides the answer.
/// </summary>
public sealed class MachineSeccompTests(MachineRuntimeFixture fixture) : IClassFixture<MachineRuntimeFixture>
{
    private const int Eperm = 1;
    private const int Enosys = 38;

    /// <summary>x86_64 numbers (strings in variables: perl's syscall refuses literals) (arch/x86/entry/syscalls/syscall_64.tbl) and arguments that would otherwise succeed or fail differently.</summary>
    public static TheoryData<string, string, int> Calls => new()
    {
        // io_uring: a large kernel attack surface of its own (Docker's default profile refuses it too). Succeeds unfiltered.
        { "io_uring_setup", "$p = \"\\0\" x 120; syscall(425, 8, $p)", Eperm },
        { "keyctl", "syscall(250, 0, -3, 0)", Eperm },
        { "add_key", "($t, $d, $v) = (\"user\", \"k\", \"v\"); syscall(248, $t, $d, $v, 1, -3)", Eperm },
        { "bpf", "$a = \"\\0\" x 128; syscall(321, 0, $a, 128)", Eperm },
        { "perf_event_open", "$a = \"\\0\" x 128; syscall(298, $a, 0, -1, -1, 0)", Eperm },
        { "userfaultfd", "syscall(323, 0)", Eperm },
        { "unshare(CLONE_NEWUSER)", "syscall(272, 0x10000000)", Eperm },
        { "setns", "syscall(308, 0, 0)", Eperm },
        { "fsopen (new mount API)", "$t = \"tmpfs\"; syscall(430, $t, 0)", Eperm },
        { "open_tree", "$d = \"/\"; syscall(428, -100, $d, 0)", Eperm },
        { "clone3 (flags out of a filter's reach)", "$a = \"\\0\" x 88; syscall(435, $a, 88)", Enosys },
    };

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task Root_inside_is_refused(string name, string perl, int errno)
    {
        Assert.True(RuntimeInformation.OSArchitecture == Architecture.X64, "the system call numbers are x86_64's");
        var id = await fixture.StartMachineAsync();

        foreach (var user in new[] { "root", "machine" })
        {
            var answer = await Tools.BashCheckedAsync(fixture.Runtime, id, $"perl -e '$r = do {{ {perl} }}; print $r, \" \", $! + 0'", user);
            Assert.True(answer == $"-1 {errno}", $"{name} as {user}: {answer} (want -1 {errno})");
        }
    }
}
