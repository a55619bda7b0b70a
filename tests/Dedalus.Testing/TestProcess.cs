using System.Diagnostics;

namespace Dedalus.Testing;

/// <summary>
/// A process a test started that may outlive the statement that started it: a client held open, a server. argv
/// and environment as given; stdin, stdout and stderr redirected. The test reads its output
/// (<see cref="StandardOutput"/>, <see cref="StandardError"/>), or, started with <c>drainOutput</c>, finds it in
/// <see cref="Output"/> and <see cref="Errors"/> (a full pipe never blocks the process). Disposing kills it with its
/// descendants and waits, bounded, for its end.
/// </summary>
public sealed class TestProcess : IAsyncDisposable
{
    /// <summary>How long <see cref="WaitForExitAsync"/> waits unless told, and disposing waits for a killed process.</summary>
    public static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;

    private TestProcess(Process process, string commandLine, bool drainOutput)
    {
        _process = process;
        CommandLine = commandLine;
        if (drainOutput)
        {
            process.OutputDataReceived += (_, e) => Output.Add(e.Data);
            process.ErrorDataReceived += (_, e) => Errors.Add(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        Exited = ExitCodeAsync(process);
    }

    /// <summary>The program and its arguments, for messages.</summary>
    public string CommandLine { get; }

    public int Id => _process.Id;

    public StreamWriter StandardInput => _process.StandardInput;

    /// <summary>The process's stdout, unless its output is drained.</summary>
    public StreamReader StandardOutput => _process.StandardOutput;

    /// <summary>The process's stderr, unless its output is drained.</summary>
    public StreamReader StandardError => _process.StandardError;

    /// <summary>What the process wrote to stdout (when its output is drained).</summary>
    public OutputLog Output { get; } = new();

    /// <summary>What the process wrote to stderr (when its output is drained).</summary>
    public OutputLog Errors { get; } = new();

    /// <summary>Completes with the exit code once the process has exited (and its drained output has ended).</summary>
    public Task<int> Exited { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static TestProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        IEnumerable<KeyValuePair<string, string>>? environment = null,
        bool drainOutput = false)
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

        foreach (var (name, value) in environment ?? [])
        {
            startInfo.Environment[name] = value;
        }

        var commandLine = string.Join(' ', [fileName, .. startInfo.ArgumentList]);
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"{commandLine} did not start");
        return new TestProcess(process, commandLine, drainOutput);
    }

    /// <summary>Waits for the process to exit; past <paramref name="timeout"/> a <see cref="TimeoutException"/> names it.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? ExitTimeout;
        try
        {
            return await Exited.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{CommandLine} did not exit within {limit}");
        }
    }

    /// <summary>Sends <paramref name="signal"/> (<c>INT</c>, <c>TERM</c>, <c>HUP</c>) as a terminal or a service manager would.</summary>
    public async Task SignalAsync(string signal)
    {
        var kill = await ProcessRunner.RunAsync("kill", "-s", signal, Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -s {signal} {CommandLine} failed: {kill}");
        }
    }

    /// <summary>Kills the process and its descendants (no-op once it has exited).</summary>
    public void Kill() => ProcessTree.Kill(_process);

    public async ValueTask DisposeAsync()
    {
        try
        {
            Kill();
            await WaitForExitAsync();
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static async Task<int> ExitCodeAsync(Process process)
    {
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
