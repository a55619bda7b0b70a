using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dedalus.Machines.Host;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    private const int SigCont = 18;
    private const int SigKillSignal = 9;

    /// <summary>
    /// The command runs behind a stop: the host tree's shell stops itself, the runtime moves the stopped process into the
    /// execution's group and opens a pidfd on it, then continues it, and the shell replaces itself with the command
    /// (same process, argv untouched). Nothing of the machine's own userland is trusted for this.
    /// </summary>
    /// <remarks>
    /// The shell is busybox, which runs its own applets for bare names (<c>head</c>, <c>env</c>...): the command's name is
    /// looked up in <c>PATH</c> here and exec'd by its path, with its own name as argv[0]; a name found nowhere exits 127
    /// with a message, as a shell would. The shell adds <c>SHLVL</c> to the environment: it is removed again, or set to
    /// the caller's value when the caller gave one (passed as the first argument). <c>PWD</c> (which it sets too) is the
    /// working directory.
    /// </remarks>
    private static string[] StopThenExec(string? shellLevel) =>
    [
        MachineSshd.HostTreeMountPoint + MachineSshd.BusyboxPath, "sh", "-c",
        ExecByPath + "kill -STOP $$ && " + (shellLevel is null ? "unset SHLVL" : "export SHLVL=\"$1\" && shift") + " && __dedalus_exec \"$@\"",
        "sh", .. (shellLevel is null ? (string[])[] : [shellLevel]),
    ];

    private const string ExecByPath =
        "__dedalus_exec() {\n" +
        "  __dedalus_p=$1\n" +
        "  case $1 in\n" +
        "    */*) ;;\n" +
        "    *)\n" +
        "      local IFS=: __dedalus_d\n" +
        "      __dedalus_p=\n" +
        "      for __dedalus_d in $PATH; do\n" +
        "        __dedalus_d=${__dedalus_d:-.}\n" +
        "        if [ -f \"$__dedalus_d/$1\" ] && [ -x \"$__dedalus_d/$1\" ]; then __dedalus_p=$__dedalus_d/$1; break; fi\n" +
        "      done\n" +
        "      [ -n \"$__dedalus_p\" ] || { echo \"$1: command not found (PATH=$PATH)\" >&2; exit 127; } ;;\n" +
        "  esac\n" +
        "  __dedalus_a=$1\n" +
        "  shift\n" +
        "  exec -a \"$__dedalus_a\" \"$__dedalus_p\" \"$@\"\n" +
        "}\n";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public async Task<IMachineExecution> StartExecutionAsync(string machineId, MachineExecutionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Arguments.Count == 0)
        {
            throw new ArgumentException("an execution needs at least the program", nameof(request));
        }

        var paths = RunningMachinePaths(machineId);

        var group = GroupOf(machineId, request.Name);
        var user = await ResolveUserAsync(machineId, request.User, cancellationToken).ConfigureAwait(false);
        var specFile = Path.Combine(paths.Exec, "x-" + request.Name + ".json");
        var pidFile = Path.Combine(paths.Exec, "x-" + request.Name + ".pid");
        using (var stream = new FileStream(specFile, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            var environment = new List<string> { $"HOME={user.Home}", $"USER={user.Name}", $"LOGNAME={user.Name}", $"SHELL={user.Shell}" };
            environment.RemoveAll(e => request.Environment.ContainsKey(e[..e.IndexOf('=', StringComparison.Ordinal)]));
            environment.AddRange(request.Environment.Select(e => e.Key + "=" + e.Value));
            OciSpec.WriteExecProcess(
                stream, [.. StopThenExec(request.Environment.GetValueOrDefault("SHLVL")), .. request.Arguments], user.Uid, user.Gid, user.Groups, request.WorkingDirectory ?? user.Home, environment);
        }

        try
        {
            group.Create();
        }
        catch (IOException e)
        {
            File.Delete(specFile);
            throw new MachineRuntimeException(machineId, $"could not make the execution's group: {e.Message}", e);
        }

        var startInfo = ExecStartInfo(machineId, specFile, pidFile);

        RuncLog.MachineExec(_logger, machineId, user.Name, request.Arguments[0]);
        var runc = new Process { StartInfo = startInfo };
        try
        {
            runc.Start();
        }
        catch (Win32Exception e)
        {
            runc.Dispose();
            group.TryRemove();
            File.Delete(specFile);
            throw new MachineRuntimeException(machineId, $"could not start {startInfo.FileName}: {e.Message}", e);
        }

        Pidfd? pidfd = null;
        try
        {
            pidfd = await HoldStoppedAsync(machineId, runc, pidFile, cancellationToken).ConfigureAwait(false);
            group.Add(ReadPid(pidFile));
            pidfd.Signal(SigCont);
            return new RuncMachineExecution(runc, pidfd, group, specFile, pidFile);
        }
        catch
        {
            pidfd?.Signal(SigKillSignal);
            pidfd?.Dispose();
            group.Kill();
            try
            {
                runc.Kill();
            }
            catch (InvalidOperationException)
            {
            }

            await runc.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            runc.Dispose();
            group.TryRemove();
            File.Delete(specFile);
            File.Delete(pidFile);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task EndExecutionAsync(string machineId, string name, CancellationToken cancellationToken = default)
    {
        var group = GroupOf(machineId, name);
        if (!group.Exists)
        {
            return;
        }

        group.Kill();
        await group.WaitUntilEmptyAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        group.TryRemove();
    }

    private static ExecutionGroup GroupOf(string machineId, string name)
    {
        if (name.Length is 0 or > 64 || !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
        {
            throw new ArgumentException($"'{name}' is not an execution name (lowercase letters, digits and '-', at most 64)", nameof(name));
        }

        return new ExecutionGroup(ExecutionGroup.MachineGroup(OciSpec.CgroupsPath(machineId)), name);
    }

    /// <summary>
    /// Ends every execution of a machine whose container is going away (sleep, delete), before runc removes the
    /// machine's cgroup, and removes their groups.
    /// </summary>
    private static async Task EndAllExecutionsAsync(string machineId)
    {
        var machineGroup = ExecutionGroup.MachineGroup(OciSpec.CgroupsPath(machineId));
        foreach (var group in ExecutionGroup.All(machineGroup))
        {
            group.Kill();
            await group.WaitUntilEmptyAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            group.TryRemove();
        }
    }

    /// <summary>On a hybrid host, once the container is gone: the machine's group of executions (processes released from executions ran there).</summary>
    private static void RemoveExecutionsGroup(string machineId)
    {
        var machineGroup = ExecutionGroup.MachineGroup(OciSpec.CgroupsPath(machineId));
        if (ExecutionGroup.MachineGroupIsOurs && Directory.Exists(machineGroup))
        {
            try
            {
                Directory.Delete(machineGroup);
            }
            catch (IOException)
            {
                // Not empty: left for the next stop.
            }
        }
    }

    /// <summary>
    /// Waits until the command's process has stopped itself (runc wrote its pid; <c>/proc/PID/stat</c> says <c>T</c>)
    /// and opens a pidfd on it. runc exiting first means the command could not start: runc's error is the message.
    /// </summary>
    private static async Task<Pidfd> HoldStoppedAsync(string machineId, Process runc, string pidFile, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (runc.HasExited)
            {
                var error = await ReadBoundedAsync(runc.StandardError.BaseStream).ConfigureAwait(false);
                throw new MachineRuntimeException(machineId, "the command could not start: " + ExplainRuncError(error));
            }

            if (TryReadPid(pidFile, out var pid) && IsStopped(pid) && Pidfd.Open(pid) is { } pidfd)
            {
                return pidfd;
            }

            if (started.Elapsed > StartTimeout)
            {
                throw new MachineRuntimeException(machineId, $"the command did not start within {StartTimeout.TotalSeconds:0} s");
            }

            // runc takes some tens of milliseconds to get there: a close watch first, then a looser one.
            await Task.Delay(started.ElapsedMilliseconds < 500 ? 2 : 10, cancellationToken).ConfigureAwait(false);
        }
    }

    private static int ReadPid(string pidFile) =>
        TryReadPid(pidFile, out var pid) ? pid : throw new IOException($"runc's pid file {pidFile} is unreadable");

    private static bool TryReadPid(string pidFile, out int pid)
    {
        pid = 0;
        try
        {
            return int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out pid) && pid > 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool IsStopped(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] == 'T';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<string> ReadBoundedAsync(Stream stream)
    {
        var buffer = new byte[4096];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total)).ConfigureAwait(false)) > 0)
        {
            total += read;
        }

        return Encoding.UTF8.GetString(buffer, 0, total).Trim();
    }

    /// <summary>runc's message without its own prefixes: <c>chdir to cwd ("/nope") set in config.json failed: no such file or directory</c>.</summary>
    private static string ExplainRuncError(string error)
    {
        if (error.Length == 0)
        {
            return "runc exec failed without a message";
        }

        var line = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last().Trim();
        const string chdir = "chdir to cwd";
        var at = line.IndexOf(chdir, StringComparison.Ordinal);
        if (at >= 0)
        {
            var text = line[at..];
            var end = text.IndexOf("failed: ", StringComparison.Ordinal);
            return end > 0 ? $"the working directory {text[(chdir.Length + 1)..].Split(' ')[0].Replace("\\", "", StringComparison.Ordinal).Trim('(', ')', '"')} does not exist or is not a directory ({text[(end + 8)..].TrimEnd('"', ' ')})" : text;
        }

        return line;
    }
}
