using System.Diagnostics;
using System.Globalization;
using Dedalus.Testing;

namespace Dedalus.Cli.Tests.Infrastructure;

/// <summary>A <c>dedalus</c> started by <see cref="CliProgram.Start"/>; disposing it kills it if a failed test left it running.</summary>
public sealed class CliProcess(Process process) : IDisposable
{
    public StreamReader StandardOutput => process.StandardOutput;

    public StreamReader StandardError => process.StandardError;

    public int ExitCode => process.ExitCode;

    /// <summary>Sends a signal (<c>INT</c>, <c>TERM</c>, <c>HUP</c>) as a terminal or a service manager would.</summary>
    public async Task SignalAsync(string signal)
    {
        var kill = await ProcessRunner.RunAsync("kill", "-s", signal, process.Id.ToString(CultureInfo.InvariantCulture));
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -s {signal} failed: {kill}");
        }
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => process.WaitForExitAsync(cancellationToken);

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        process.Dispose();
    }
}
