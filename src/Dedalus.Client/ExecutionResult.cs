using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// The outcome of <see cref="ExecutionsResource.RunAsync"/>: the finished execution and the output the server kept.
/// </summary>
/// <param name="Execution">The execution in its final state (<c>succeeded</c>, <c>failed</c> or <c>cancelled</c>).</param>
/// <param name="Output">The kept stdout and stderr, with their exact sizes and whether each was cut.</param>
public sealed record ExecutionResult(Execution Execution, ExecutionOutput Output)
{
    /// <summary>The final status: <c>succeeded</c>, <c>failed</c> or <c>cancelled</c> (<see cref="ExecutionStatuses"/>).</summary>
    public string Status => Execution.Status;

    /// <summary>Whether the command exited with code 0.</summary>
    public bool Succeeded => Execution.Status == ExecutionStatuses.Succeeded;

    /// <summary>
    /// The command's exit code; <see langword="null"/> when it did not exit by itself (a signal, a timeout, a cancel,
    /// or it never started: see <see cref="Signal"/> and <see cref="ErrorCode"/>).
    /// </summary>
    public int? ExitCode => Execution.ExitCode;

    /// <summary>The signal that ended the command, when one did.</summary>
    public int? Signal => Execution.Signal;

    /// <summary>Why it failed or was cancelled (<see cref="ExecutionErrorCodes"/>); <see langword="null"/> on success.</summary>
    public string? ErrorCode => Execution.ErrorCode;

    /// <summary>The kept stdout (cut at the server's bound when <see cref="ExecutionOutput.StdoutTruncated"/>).</summary>
    public string Stdout => Output.Stdout ?? string.Empty;

    /// <summary>The kept stderr (cut at the server's bound when <see cref="ExecutionOutput.StderrTruncated"/>).</summary>
    public string Stderr => Output.Stderr ?? string.Empty;
}
