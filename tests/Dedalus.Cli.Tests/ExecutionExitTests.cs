using Dedalus.Cli.Commands;

namespace Dedalus.Cli.Tests;

/// <summary>The exit code of <c>dedalus machines exec</c> for each way an execution can end.</summary>
public sealed class ExecutionExitTests
{
    public static TheoryData<Execution, int, string?> Endings => new()
    {
        { Ended(ExecutionStatuses.Succeeded, exitCode: 0), 0, null },
        { Ended(ExecutionStatuses.Succeeded), 0, null },
        { Ended(ExecutionStatuses.Failed, exitCode: 3, errorCode: ExecutionErrorCodes.NonzeroExit, message: "exited with 3"), 3, null },
        { Ended(ExecutionStatuses.Failed, exitCode: 255, errorCode: ExecutionErrorCodes.NonzeroExit), 255, null },
        { Ended(ExecutionStatuses.Failed, exitCode: 7), 7, null },
        { Ended(ExecutionStatuses.Failed, signal: 9, errorCode: ExecutionErrorCodes.KilledBySignal, message: "killed by SIGKILL"), 137, null },
        { Ended(ExecutionStatuses.Failed, signal: 15), 143, null },
        // Without an exit code of its own: the server's reason and 125, even when the server's kill left a signal.
        { Ended(ExecutionStatuses.Failed, signal: 15, errorCode: ExecutionErrorCodes.Timeout, message: "timed out after 1 s"), 125, "timed out after 1 s" },
        { Ended(ExecutionStatuses.Failed, errorCode: ExecutionErrorCodes.StartFailed, message: "no such file: nope"), 125, "no such file: nope" },
        { Ended(ExecutionStatuses.Failed, errorCode: ExecutionErrorCodes.MachineStopped, message: "the machine went to sleep"), 125, "the machine went to sleep" },
        { Ended(ExecutionStatuses.Failed, errorCode: ExecutionErrorCodes.MachineDestroyed), 125, "execution ex-1 ended failed (machine_destroyed) without an exit code" },
        { Ended(ExecutionStatuses.Failed, errorCode: ExecutionErrorCodes.ServerRestarted, message: "the server restarted"), 125, "the server restarted" },
        { Ended(ExecutionStatuses.Cancelled, signal: 9, errorCode: ExecutionErrorCodes.Cancelled, message: "cancelled by a DELETE"), 125, "cancelled by a DELETE" },
        { Ended(ExecutionStatuses.Failed, exitCode: 300), 125, "execution ex-1 ended failed without an exit code" },
    };

    [Theory]
    [MemberData(nameof(Endings))]
    public void An_execution_exits_with_its_code_128_plus_its_signal_or_125_with_the_servers_reason(Execution execution, int expected, string? message)
    {
        var (exitCode, reason) = ExecutionExit.Of(execution);

        Assert.Equal(expected, exitCode);
        Assert.Equal(message, reason);
    }

    private static Execution Ended(string status, int? exitCode = null, int? signal = null, string? errorCode = null, string? message = null) =>
        new("ex-1", Samples.MachineId, status, DateTimeOffset.UnixEpoch, new LogCapture(), ExitCode: exitCode, Signal: signal, ErrorCode: errorCode, ErrorMessage: message);
}
