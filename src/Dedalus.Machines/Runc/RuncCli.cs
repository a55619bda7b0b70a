using System.Text.Json;
using Dedalus.Machines.Host;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

/// <summary>Drives the <c>runc</c> binary with <c>--root</c> set to this runtime's state directory.</summary>
internal sealed class RuncCli(RuncRuntimeOptions options)
{
    public string RuncPath => options.RuncPath;

    public IReadOnlyList<string> GlobalArguments { get; } = ["--root", options.RuncRoot];

    /// <summary>runc's view of a container: <c>created</c>, <c>running</c>, <c>paused</c>, <c>stopped</c>; null when it has none.</summary>
    public async Task<string?> StatusAsync(string machineId, CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(options.RuncRoot, machineId, "state.json")))
        {
            return null;
        }

        var result = await RunAsync(["state", machineId], cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            return result.StandardError.Contains("does not exist", StringComparison.Ordinal) ? null : "unknown";
        }

        using var document = JsonDocument.Parse(result.StandardOutput);
        return document.RootElement.GetProperty("status").GetString();
    }

    /// <summary>Kills every process of the container and removes it; no-op when there is none.</summary>
    public async Task DeleteAsync(string machineId, CancellationToken cancellationToken)
    {
        // SIGKILL the init (the pid namespace dies with it) and wait for the kernel to say it is gone (a pidfd), faster
        // than delete --force's polling; if it is not gone within the bound, delete --force kills and waits again.
        var pid = await InitPidAsync(machineId, cancellationToken).ConfigureAwait(false);
        if (pid > 0)
        {
            await RunAsync(["kill", machineId, "KILL"], cancellationToken).ConfigureAwait(false);
            await NativeMethods.WaitForExitAsync(pid, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }

        var result = await RunAsync(["delete", "--force", machineId], cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded && !result.StandardError.Contains("does not exist", StringComparison.Ordinal))
        {
            throw new MachineRuntimeException(machineId, $"runc delete failed: {result.StandardError.Trim()}");
        }
    }

    /// <summary>The host pid of the container's init from runc's state file; 0 when there is none.</summary>
    public async Task<int> InitPidAsync(string machineId, CancellationToken cancellationToken)
    {
        var stateFile = Path.Combine(options.RuncRoot, machineId, "state.json");
        try
        {
            await using var stream = File.OpenRead(stateFile);
            using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            return document.RootElement.TryGetProperty("init_process_pid", out var pid) ? pid.GetInt32() : 0;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException or InvalidOperationException)
        {
            return 0;
        }
    }

    /// <summary>
    /// <c>runc run --detach</c> with the init's stdio on <c>/dev/null</c> and the console log, so that nothing ties the
    /// machine to this process: it outlives a restart of the host process. <c>--no-new-keyring</c>: otherwise every
    /// <c>runc exec</c> (one per SSH connection) creates a session keyring owned by the mapped root, which all machines
    /// share, and the kernel's per-user key quota (<c>kernel.keys.maxkeys</c>, 200 by default) caps the whole host at
    /// about 200 connections. Machines cannot use keyrings anyway: the seccomp profile refuses keyctl and add_key.
    /// </summary>
    /// <remarks>
    /// The console log of the previous wake is kept as <c>console.log.1</c>; together they stay within twice
    /// <see cref="OciSpec.ConsoleLogLimitBytes"/>, the init's file size limit. runc's own log turns over the same way.
    /// </remarks>
    public async Task RunDetachedAsync(string machineId, MachinePaths paths, CancellationToken cancellationToken)
    {
        foreach (var log in new[] { paths.ConsoleLog, paths.RuncLog })
        {
            if (File.Exists(log))
            {
                File.Move(log, log + ".1", overwrite: true);
            }
        }

        string[] arguments =
        [
            "-c", "log=$1; shift; exec \"$@\" </dev/null >>\"$log\" 2>&1", "sh", paths.ConsoleLog,
            options.RuncPath, .. GlobalArguments, "--log", paths.RuncLog, "run", "--detach", "--no-new-keyring", "--bundle", paths.Bundle, machineId,
        ];
        var result = await HostCommand.RunAsync("/bin/sh", arguments, options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new MachineRuntimeException(machineId, $"runc run failed (exit {result.ExitCode}): {Tail(paths.ConsoleLog)}");
        }
    }

    public async Task UpdateAsync(string machineId, MachineManifest record, CancellationToken cancellationToken)
    {
        var memory = OciSpec.Invariant(OciSpec.MemoryBytes(record.MemoryMib));
        var result = await RunAsync(
            [
                "update",
                "--cpu-period", OciSpec.Invariant(OciSpec.CpuPeriod),
                "--cpu-quota", OciSpec.Invariant(OciSpec.CpuQuota(record.Vcpu)),
                "--memory", memory,
                .. (OciSpec.SwapLimitSupported ? (string[])["--memory-swap", memory] : []),
                machineId,
            ],
            cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new MachineRuntimeException(machineId, $"runc update failed: {result.StandardError.Trim()}");
        }
    }

    public Task<CommandResult> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        HostCommand.RunAsync(options.RuncPath, [.. GlobalArguments, .. arguments], options.CommandTimeout, cancellationToken);

    /// <summary>The last 2000 bytes of a log, read from the end (the file may be large; only its tail matters).</summary>
    private static string Tail(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var length = (int)Math.Min(stream.Length, 2000);
            stream.Seek(-length, SeekOrigin.End);
            var buffer = new byte[length];
            stream.ReadExactly(buffer);
            return System.Text.Encoding.UTF8.GetString(buffer);
        }
        catch (IOException)
        {
            return "(no console log)";
        }
    }
}
