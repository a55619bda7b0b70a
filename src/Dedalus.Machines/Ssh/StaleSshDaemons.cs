using System.Globalization;
using System.Net;
using System.Text;
using Dedalus.Machines.Host;
using Dedalus.Machines.Runc;
using Microsoft.Extensions.Logging;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// The listening sshd daemons a previous server process left in a machine (<see cref="MachineSshd.DaemonArguments"/>,
/// still holding the port, their log pipe gone with that process), found and stopped from the host so that a new
/// <see cref="ListeningSshServerConnector"/> can start its own daemon instead of falling back to <c>sshd -i</c> for good.
/// <para>
/// A stale daemon is a process of the machine's cgroup (runc's <c>/dedalus/&lt;machine&gt;</c>, as the runc runtime makes
/// it; another runtime's machines have none there, so nothing is found) whose parent is the machine's init (the process
/// of the cgroup that is pid 1 of its pid namespace) or a process outside the machine (a daemon whose <c>runc exec</c>
/// ended is adopted by the host's reaper, as its parent was a host process; one whose <c>runc exec</c> outlived the old
/// server still has it), never another process of the machine, and whose command line is the daemon's: either its argv as sshd was started (the busybox <c>chroot</c> prefix gone with the
/// exec) or the title sshd's listener gives itself, <c>sshd: ARGV [listener] ...</c>. Root inside the machine can make a
/// process of its own look so; stopping that one costs the machine nothing it did not ask for. Stopped with SIGTERM,
/// then SIGKILL after <see cref="TermGrace"/>; the sessions the old daemon's children serve are left alone.
/// </para>
/// </summary>
public static partial class StaleSshDaemons
{
    /// <summary>What sshd says when the port is taken (<c>Bind to port 22 on ADDRESS failed: Address already in use.</c>).</summary>
    public const string AddressInUse = "Address already in use";

    /// <summary>How long a stale daemon has to exit on SIGTERM before it gets SIGKILL.</summary>
    public static readonly TimeSpan TermGrace = TimeSpan.FromSeconds(5);

    private const int SigTerm = 15;

    /// <summary>The host pids of the stale daemons of <paramref name="machineId"/> listening on <paramref name="listen"/>.</summary>
    public static IReadOnlyList<int> Find(string machineId, IPEndPoint listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        var processes = MemoryCgroup.OfMachine(OciSpec.CgroupsPath(machineId)).Processes();
        var init = processes.FirstOrDefault(IsNamespaceInit);
        if (init <= 0)
        {
            return [];
        }

        var argv = MachineSshd.DaemonArguments(listen);

        // busybox chroot execs the tree's sshd: from then on the process's argv is what follows the chroot's directory.
        var sshdArgv = argv.Skip(3).ToArray();
        var inside = processes.ToHashSet();
        return [.. processes.Where(pid => pid != init
            && ProcessTree.ReadStatus(pid) is { State: not ('Z' or 'X') } status
            && (status.ParentPid == init || !inside.Contains(status.ParentPid))
            && IsDaemon(ReadCommandLine(pid), sshdArgv))];
    }

    /// <summary>Stops the stale daemons of <paramref name="machineId"/> on <paramref name="listen"/> (SIGTERM, then SIGKILL); returns how many there were.</summary>
    public static async Task<int> StopAsync(string machineId, IPEndPoint listen, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(logger);
        var stale = Find(machineId, listen);
        foreach (var pid in stale)
        {
            NativeMethods.Signal(pid, SigTerm);
        }

        foreach (var pid in stale)
        {
            if (!await NativeMethods.WaitForExitAsync(pid, TermGrace, cancellationToken).ConfigureAwait(false) && Find(machineId, listen).Contains(pid))
            {
                NativeMethods.SigKill(pid);
                await NativeMethods.WaitForExitAsync(pid, TermGrace, cancellationToken).ConfigureAwait(false);
            }
        }

        if (stale.Count > 0)
        {
            Stopped(logger, machineId, listen.ToString(), string.Join(' ', stale.Select(pid => pid.ToString(CultureInfo.InvariantCulture))));
        }

        return stale.Count;
    }

    /// <summary>Whether <paramref name="commandLine"/> (NUL-separated, as in <c>/proc/PID/cmdline</c>) is the daemon's argv or its listener title.</summary>
    internal static bool IsDaemon(string commandLine, IReadOnlyList<string> sshdArgv)
    {
        if (commandLine == string.Join('\0', sshdArgv) + "\0")
        {
            return true;
        }

        // setproctitle writes one string over argv (NUL-terminated, padded with NULs or spaces).
        var title = commandLine.TrimEnd('\0', ' ');
        return !title.Contains('\0', StringComparison.Ordinal)
            && title.StartsWith("sshd: " + string.Join(' ', sshdArgv) + " [listener] ", StringComparison.Ordinal);
    }

    private static bool IsNamespaceInit(int pid)
    {
        try
        {
            // "NSpid:	<host pid>	...	<pid in the innermost namespace>"
            var line = File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status").FirstOrDefault(l => l.StartsWith("NSpid:", StringComparison.Ordinal));
            var fields = line?.Split('\t', StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: > 2 } && fields[^1] == "1";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string ReadCommandLine(int pid)
    {
        try
        {
            return Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    [LoggerMessage(EventId = 2319, Level = LogLevel.Warning, Message = "Machine {MachineId}: stopped the stale sshd daemon(s) holding {EndPoint} (host pids {Pids}), left by an earlier server")]
    private static partial void Stopped(ILogger logger, string machineId, string endPoint, string pids);
}
