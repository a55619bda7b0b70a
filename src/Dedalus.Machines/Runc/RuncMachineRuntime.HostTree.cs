using System.Globalization;
using Dedalus.Machines.Host;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    private readonly SemaphoreSlim _hostTreeLock = new(1, 1);
    private bool _hostTreeReady;

    /// <summary>Builds the host tree once per runtime instance (and again should its base change under it).</summary>
    private async Task EnsureHostTreeAsync(CancellationToken cancellationToken)
    {
        await _hostTreeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_hostTreeReady && File.Exists(Path.Combine(_options.HostTreeDirectory, MachineSshd.SshdPath.TrimStart('/'))))
            {
                return;
            }

            CreateDirectory(_options.DataDirectory, Mode0711);
            await new HostTree(_options.HostTreeDirectory, BaseImage.RootFileSystem, _options.SharedUidBase)
                .EnsureAsync(_options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            _hostTreeReady = true;
        }
        finally
        {
            _hostTreeLock.Release();
        }
    }

    /// <summary>
    /// What runc cannot mount from the host side, made in the machine's mount namespace right after its start by host
    /// root (system calls on a thread of this process: no program of the machine runs): the machine's <c>/dev/null</c>,
    /// then the machine's whole root, recursively, at <see cref="MachineSshd.ChrootDirectory"/>, where sessions are
    /// chrooted (and where the tree's <c>/dev/pts</c> points: sshd allocates a session's terminal among the machine's).
    /// Nothing inside can undo them (no CAP_SYS_ADMIN inside); they vanish with the machine's mount namespace.
    /// </summary>
    private async Task MountInsideHostTreeAsync(string machineId, CancellationToken cancellationToken)
    {
        var pid = await _runc.InitPidAsync(machineId, cancellationToken).ConfigureAwait(false);
        if (pid <= 0)
        {
            throw new MachineRuntimeException(machineId, "the machine's init is gone right after its start");
        }

        var tree = MachineSshd.HostTreeMountPoint;
        try
        {
            await NativeMethods.BindMountInNamespaceAsync(
                pid,
                [
                    ("/dev/null", tree + "/dev/null", false),
                    ("/", tree + MachineSshd.ChrootDirectory, true),
                ]).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new MachineRuntimeException(machineId, $"mounting the machine's root into the host tree failed: {e.Message}", e);
        }
    }

    /// <summary>Whether the running machine's mount namespace holds the host tree with its session root (a machine
    /// started by an earlier version has neither, and its sshd would not start).</summary>
    private async Task<bool> HostTreeMountedInsideAsync(string machineId, CancellationToken cancellationToken)
    {
        var pid = await _runc.InitPidAsync(machineId, cancellationToken).ConfigureAwait(false);
        if (pid <= 0)
        {
            return false;
        }

        var mountPoint = MachineSshd.HostTreeMountPoint + MachineSshd.ChrootDirectory;
        try
        {
            foreach (var line in await File.ReadAllLinesAsync($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/mountinfo", cancellationToken).ConfigureAwait(false))
            {
                // "id parent major:minor root mount-point options ..."
                var fields = line.Split(' ', 6);
                if (fields.Length > 4 && fields[4] == mountPoint)
                {
                    return true;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        return false;
    }
}
