namespace Dedalus.Testing;

/// <summary>Runs real tools (ssh-keygen, ssh, runc) to completion with a timeout; never hangs a test.</summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs <paramref name="fileName"/>, feeds it <paramref name="standardInput"/> and collects its output. Past
    /// <paramref name="timeout"/> the process is killed with its descendants and a <see cref="TimeoutException"/> names it.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string? standardInput = null,
        TimeSpan? timeout = null,
        IDictionary<string, string>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var limit = timeout ?? DefaultTimeout;
        await using var process = TestProcess.Start(fileName, arguments, environment);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(limit);
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
            var stderr = process.StandardError.ReadToEndAsync(cts.Token);
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput.AsMemory(), cts.Token);
            }

            process.StandardInput.Close();
            var exitCode = await process.Exited.WaitAsync(cts.Token);
            return new ProcessResult(exitCode, await stdout, await stderr);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{process.CommandLine} did not finish within {limit}");
        }
    }

    public static Task<ProcessResult> RunAsync(string fileName, params string[] arguments) =>
        RunAsync(fileName, (IEnumerable<string>)arguments);
}
