using System.Diagnostics;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Host;

/// <summary>Runs host tools (runc, mount, mkfs.ext4, debootstrap) with a timeout; never hangs.</summary>
internal static class HostCommand
{
    public static async Task<CommandResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new MachineRuntimeException($"could not start {fileName}: {e.Message}", e);
        }

        process.StandardInput.Close();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return new CommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            cancellationToken.ThrowIfCancellationRequested();
            throw new MachineRuntimeException($"{Describe(fileName, startInfo.ArgumentList)} did not finish within {timeout}");
        }
    }

    /// <summary>Runs a command and throws a <see cref="MachineRuntimeException"/> naming it when it fails.</summary>
    public static async Task<CommandResult> RunCheckedAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? machineId = null,
        CancellationToken cancellationToken = default)
    {
        var list = arguments as IReadOnlyList<string> ?? [.. arguments];
        var result = await RunAsync(fileName, list, timeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new MachineRuntimeException(
                machineId,
                $"{Describe(fileName, list)} failed with exit code {result.ExitCode}: {result.StandardError.Trim()}");
        }

        return result;
    }

    private static string Describe(string fileName, IEnumerable<string> arguments) =>
        $"{Path.GetFileName(fileName)} {string.Join(' ', arguments)}";
}
