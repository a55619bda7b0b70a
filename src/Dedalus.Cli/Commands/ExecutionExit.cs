using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// The exit code of <c>dedalus machines exec</c> for a finished execution, as <c>dedalus ssh</c> passes a remote command's:
/// its exit code, or 128 + N when signal N ended it. When it ended without either of its own (a timeout, a start
/// failure, its machine stopped or failed, a cancel by another client), <see cref="ExitCodes.ExecutionFailed"/> and the
/// server's reason, for one line on stderr.
/// </summary>
internal static class ExecutionExit
{
    public static (int ExitCode, string? Message) Of(Execution execution)
    {
        ArgumentNullException.ThrowIfNull(execution);
        var code = execution.ErrorCode;
        if (execution.Status == ExecutionStatuses.Succeeded)
        {
            return (execution.ExitCode is { } exit and >= 0 and <= 255 ? exit : ExitCodes.Ok, null);
        }

        if (execution.Status == ExecutionStatuses.Failed)
        {
            if (code is null or ExecutionErrorCodes.NonzeroExit && execution.ExitCode is { } exit and >= 0 and <= 255)
            {
                return (exit, null);
            }

            if (code is null or ExecutionErrorCodes.KilledBySignal && execution.Signal is { } signal and >= 1 and <= 127)
            {
                return (128 + signal, null);
            }
        }

        return (ExitCodes.ExecutionFailed, Reason(execution));
    }

    private static string Reason(Execution execution)
    {
        if (!string.IsNullOrWhiteSpace(execution.ErrorMessage))
        {
            return execution.ErrorMessage;
        }

        var detail = execution.ErrorCode is { Length: > 0 } code ? $" ({code})" : string.Empty;
        return $"execution {execution.ExecutionId} ended {execution.Status}{detail} without an exit code";
    }
}
