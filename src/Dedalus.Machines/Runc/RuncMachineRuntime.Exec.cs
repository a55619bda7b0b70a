using System.Diagnostics;
using System.Globalization;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    /// <inheritdoc />
    /// <remarks>
    /// <c>runc exec --process</c> with the runc process's own pipes passed through to the process inside (no tty, no copy
    /// in between): the returned streams are the pipes' base streams. Not serialized with lifecycle operations. With
    /// <see cref="MachineExecRequest.PacketStderr"/> the stderr pipes are in packet mode before this returns (runc 1.1
    /// copies the process's stderr from a pipe of its own: both pipes), or the exec fails (no fallback to a stream
    /// whose boundaries a writer could fake).
    /// </remarks>
    public async Task<IMachineProcess> ExecAsync(string machineId, MachineExecRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Arguments.Count == 0)
        {
            throw new ArgumentException("an exec needs at least the program", nameof(request));
        }

        var paths = RunningMachinePaths(machineId);

        var user = await ResolveUserAsync(machineId, request.User, cancellationToken).ConfigureAwait(false);
        var name = Guid.NewGuid().ToString("N");
        var specFile = Path.Combine(paths.Exec, name + ".json");
        var pidFile = Path.Combine(paths.Exec, name + ".pid");
        using (var stream = new FileStream(specFile, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            OciSpec.WriteExecProcess(
                stream,
                request.Arguments,
                user.Uid,
                user.Gid,
                user.Groups,
                user.Home,
                [$"HOME={user.Home}", $"USER={user.Name}", $"LOGNAME={user.Name}", $"SHELL={user.Shell}"]);
        }

        var startInfo = ExecStartInfo(machineId, specFile, pidFile);

        RuncLog.MachineExec(_logger, machineId, user.Name, request.Arguments[0]);
        var process = RuncMachineProcess.Start(startInfo, specFile, pidFile);
        if (request.PacketStderr)
        {
            try
            {
                await process.PacketizeStandardErrorAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await process.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            catch (Exception e) when (e is IOException or PlatformNotSupportedException or InvalidCastException)
            {
                await process.DisposeAsync().ConfigureAwait(false);
                throw new MachineRuntimeException(machineId, $"could not put the stderr pipe of {request.Arguments[0]} in packet mode: {e.Message}", e);
            }
        }

        return process;
    }

    /// <summary>The machine's paths, once it is known to be provisioned and running.</summary>
    private MachinePaths RunningMachinePaths(string machineId)
    {
        var paths = PathsOf(machineId);
        if (!File.Exists(paths.Record))
        {
            throw new MachineNotFoundException(machineId, innerException: null);
        }

        return File.Exists(Path.Combine(_options.RuncRoot, machineId, "state.json"))
            ? paths
            : throw new MachineNotRunningException(machineId, innerException: null);
    }

    /// <summary><c>runc exec --process SPEC --pid-file PID</c> with the three standard streams piped (runc passes them through).</summary>
    private ProcessStartInfo ExecStartInfo(string machineId, string specFile, string pidFile)
    {
        var startInfo = new ProcessStartInfo(_options.RuncPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[.. _runc.GlobalArguments, "exec", "--process", specFile, "--pid-file", pidFile, machineId])
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    private async Task<ExecUser> ResolveUserAsync(string machineId, string user, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(user) || user == "root")
        {
            return new ExecUser("root", 0, 0, [], "/root", "/bin/bash");
        }

        // Names resolve against the base userland (trusted, read-only), never the machine's own writable /etc.
        var etc = Path.Combine(BaseImage.RootFileSystem, "etc");
        var passwd = await File.ReadAllLinesAsync(Path.Combine(etc, "passwd"), cancellationToken).ConfigureAwait(false);
        var groups = await File.ReadAllLinesAsync(Path.Combine(etc, "group"), cancellationToken).ConfigureAwait(false);
        foreach (var line in passwd)
        {
            var fields = line.Split(':');
            if (fields.Length >= 7 && (fields[0] == user || fields[2] == user))
            {
                var name = fields[0];
                var supplementary = groups
                    .Select(g => g.Split(':'))
                    .Where(g => g.Length >= 4 && g[3].Split(',').Contains(name, StringComparer.Ordinal))
                    .Select(g => int.Parse(g[2], CultureInfo.InvariantCulture))
                    .ToArray();
                return new ExecUser(
                    name, int.Parse(fields[2], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture), supplementary, fields[5], fields[6]);
            }
        }

        var parts = user.Split(':');
        if (parts.Length <= 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
        {
            var gid = parts.Length == 2 ? int.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture) : uid;
            return new ExecUser(user, uid, gid, [], "/", "/bin/sh");
        }

        throw new MachineRuntimeException(machineId, $"unknown user '{user}'");
    }

    private sealed record ExecUser(string Name, int Uid, int Gid, IReadOnlyList<int> Groups, string Home, string Shell);
}
