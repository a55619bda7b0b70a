using Dedalus.Contracts;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Store;

namespace Dedalus.Server.Executions;

/// <summary>
/// Drives one execution from its creation to its end, and is the only writer of its row and events meanwhile: waits
/// for a sleeping machine to wake, starts the command, captures its output into events as it comes (a write every
/// <see cref="FlushInterval"/> at most), ends it on timeout or cancel (SIGTERM to the whole group, SIGKILL after the
/// grace period) and writes how it ended. Neither stdin nor the values of env leave memory.
/// </summary>
internal sealed class ExecutionRunner
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan DrainAfterExit = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan CancelGrace = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan WakeTimeout = TimeSpan.FromMinutes(5);
    private const int SigTerm = 15;

    private readonly ExecutionSupervisor _supervisor;
    private readonly ExecutionInput _input;
    private readonly CancellationTokenSource _end = new();
    private ExecutionRecord _record;
    private EndReason _endReason;

    public ExecutionRunner(ExecutionSupervisor supervisor, ExecutionRecord record, ExecutionInput input)
    {
        _supervisor = supervisor;
        _record = record;
        _input = input;
    }

    private enum EndReason
    {
        None,
        Cancelled,
        ServerStopping,
    }

    public string ExecutionId => _record.Id;

    /// <summary>Asks for the end of a live execution (DELETE): <c>cancelled</c>.</summary>
    public void Cancel() => End(EndReason.Cancelled);

    /// <summary>The server stops: the execution ends as <c>failed</c> with <c>server_restarted</c>.</summary>
    public void Shutdown() => End(EndReason.ServerStopping);

    public async Task RunAsync()
    {
        try
        {
            if (_record.Status == ExecutionStatuses.WakeInProgress)
            {
                var woken = await WaitForMachineAsync().ConfigureAwait(false);
                if (woken is { } failure)
                {
                    await FinishAsync(ExecutionStatuses.Failed, failure.Code, failure.Message, default, captureCode: null).ConfigureAwait(false);
                    return;
                }

                if (_end.IsCancellationRequested)
                {
                    await FinishEndedBeforeStartAsync().ConfigureAwait(false);
                    return;
                }

                if (!await WriteAsync(_record with { Status = ExecutionStatuses.Queued }, [Lifecycle(ExecutionStatuses.Queued)]).ConfigureAwait(false))
                {
                    return;
                }
            }

            if (_end.IsCancellationRequested)
            {
                await FinishEndedBeforeStartAsync().ConfigureAwait(false);
                return;
            }

            IMachineExecution execution;
            try
            {
                execution = await _supervisor.Runtime.StartExecutionAsync(
                    _record.MachineId,
                    new MachineExecutionRequest(ExecutionIds.RuntimeName(_record.Id), _input.Command, _supervisor.Options.SshUsername, _input.Cwd, _input.Env),
                    _end.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_end.IsCancellationRequested)
            {
                await FinishEndedBeforeStartAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is MachineNotRunningException or MachineNotFoundException)
            {
                var (code, message) = await MachineGoneAsync().ConfigureAwait(false) ?? (ExecutionErrorCodes.MachineStopped, $"machine {_record.MachineId} is not running");
                await FinishAsync(ExecutionStatuses.Failed, code, message, default, captureCode: null).ConfigureAwait(false);
                return;
            }
            catch (MachineRuntimeException e)
            {
                await FinishAsync(ExecutionStatuses.Failed, ExecutionErrorCodes.StartFailed, e.Message, default, captureCode: null).ConfigureAwait(false);
                return;
            }

            await using (execution.ConfigureAwait(false))
            {
                await RunProcessAsync(execution).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            ServerLog.ExecutionFailed(_supervisor.Logger, e, _record.Id, _record.MachineId);
            await FinishAsync(ExecutionStatuses.Failed, ExecutionErrorCodes.StartFailed, "the server could not run the execution: " + e.Message, default, captureCode: null)
                .ConfigureAwait(false);
        }
    }

    private void End(EndReason reason)
    {
        lock (_end)
        {
            if (_endReason == EndReason.None)
            {
                _endReason = reason;
            }
        }

        _end.Cancel();
    }

    private async Task RunProcessAsync(IMachineExecution execution)
    {
        var now = _supervisor.Time.GetUtcNow();
        if (!await WriteAsync(_record with { Status = ExecutionStatuses.Running, StartedAt = now }, [Lifecycle(ExecutionStatuses.Running)]).ConfigureAwait(false))
        {
            await execution.KillAllAsync(KillWait).ConfigureAwait(false);
            return;
        }

        var capture = new OutputCapture(_supervisor.Options.ExecutionOutputBytes, _supervisor.Time);
        using var stopReading = new CancellationTokenSource();
        var stdin = WriteStdinAsync(execution.StandardInput, stopReading.Token);
        var pumps = Task.WhenAll(PumpAsync(execution.StandardOutput, stdout: true, capture, stopReading.Token), PumpAsync(execution.StandardError, stdout: false, capture, stopReading.Token));
        using var stopFlushing = new CancellationTokenSource();
        var flusher = FlushLoopAsync(capture, stopFlushing.Token);

        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(_record.TimeoutMs), _supervisor.Time);
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _end.Token);
        await Task.WhenAny(execution.Exited, Task.Delay(Timeout.Infinite, ending.Token)).ConfigureAwait(false);

        string? endedBy = null;
        if (!execution.Exited.IsCompleted)
        {
            endedBy = _end.IsCancellationRequested ? (_endReason == EndReason.ServerStopping ? "shutdown" : "cancel") : "timeout";
            var grace = endedBy switch { "timeout" => _supervisor.Options.ExecutionKillGrace, "cancel" => CancelGrace, _ => TimeSpan.Zero };
            if (grace > TimeSpan.Zero)
            {
                execution.Signal(SigTerm);
            }

            if (grace <= TimeSpan.Zero || !await execution.WaitUntilEmptyAsync(grace).ConfigureAwait(false))
            {
                await execution.KillAllAsync(KillWait).ConfigureAwait(false);
            }
        }

        var status = await execution.Exited.WaitAsync(KillWait).ConfigureAwait(false);

        // A process the command left behind may hold the pipes: output is read for a moment more, then no longer.
        if (!await pumps.WaitAsync(DrainAfterExit).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default).ConfigureAwait(false))
        {
            await stopReading.CancelAsync().ConfigureAwait(false);
            await pumps.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }

        await stopReading.CancelAsync().ConfigureAwait(false);
        await stdin.ConfigureAwait(false);
        capture.Complete();
        if (endedBy is null)
        {
            await execution.ReleaseAsync().ConfigureAwait(false);
        }

        await stopFlushing.CancelAsync().ConfigureAwait(false);
        await flusher.ConfigureAwait(false);

        var counts = capture.TakePending();
        var truncated = counts.Counts.Truncated ? ExecutionCaptureCodes.OutputTruncated : null;
        var (final, code, message, captureCode) = endedBy switch
        {
            "cancel" => (ExecutionStatuses.Cancelled, ExecutionErrorCodes.Cancelled, "cancelled (DELETE); its processes were ended", truncated),
            "shutdown" => (ExecutionStatuses.Failed, ExecutionErrorCodes.ServerRestarted, "the server stopped while the execution ran; its processes were ended",
                ExecutionCaptureCodes.ServerRestarted),
            "timeout" => (ExecutionStatuses.Failed, ExecutionErrorCodes.Timeout,
                $"the command ran longer than timeout_ms ({_record.TimeoutMs} ms): its processes got SIGTERM, then SIGKILL after {_supervisor.Options.ExecutionKillGrace.TotalSeconds:0.###} s",
                truncated),
            _ => await NaturalEndAsync(status, truncated).ConfigureAwait(false),
        };
        await FinishAsync(final, code, message, status, captureCode, counts.Events, counts.Counts).ConfigureAwait(false);
    }

    private async Task<(string Status, string? Code, string? Message, string? CaptureCode)> NaturalEndAsync(MachineExitStatus status, string? truncated)
    {
        if (status.ExitCode == 0)
        {
            return (ExecutionStatuses.Succeeded, null, null, truncated);
        }

        if (status.ExitCode is { } code)
        {
            return (ExecutionStatuses.Failed, ExecutionErrorCodes.NonzeroExit, $"the command exited with code {code}", truncated);
        }

        // A signal nobody here sent: the machine going to sleep or away ends every process with SIGKILL.
        if (await MachineGoneAsync().ConfigureAwait(false) is { } gone)
        {
            return (ExecutionStatuses.Failed, gone.Code, gone.Message, truncated);
        }

        return (ExecutionStatuses.Failed, ExecutionErrorCodes.KilledBySignal,
            $"the command was ended by signal {status.Signal}{(status.Signal == 9 ? " (SIGKILL; the machine's memory limit, for example)" : "")}", truncated);
    }

    private Task FinishEndedBeforeStartAsync() =>
        _endReason == EndReason.ServerStopping
            ? FinishAsync(ExecutionStatuses.Failed, ExecutionErrorCodes.ServerRestarted, "the server stopped before the execution started", default, captureCode: null)
            : FinishAsync(ExecutionStatuses.Cancelled, ExecutionErrorCodes.Cancelled, "cancelled (DELETE) before it started", default, captureCode: null);

    /// <summary>Waits until the machine runs; null then, else why it will not.</summary>
    private async Task<(string Code, string Message)?> WaitForMachineAsync()
    {
        var deadline = _supervisor.Time.GetUtcNow() + WakeTimeout;
        while (true)
        {
            var change = _supervisor.MachineFeed.NextChangeAsync(_record.MachineId, _end.Token);
            var machine = await _supervisor.Store.GetMachineAsync(_record.MachineId, CancellationToken.None).ConfigureAwait(false);
            if (machine is null || machine.DesiredState == DesiredStates.Destroyed || machine.Phase is MachinePhases.Destroying or MachinePhases.Destroyed)
            {
                return (ExecutionErrorCodes.MachineDestroyed, $"machine {_record.MachineId} was destroyed before the execution started");
            }

            if (machine.Phase == MachinePhases.Failed)
            {
                return (ExecutionErrorCodes.MachineFailed, $"machine {_record.MachineId} failed to wake: {machine.LastError ?? machine.Reason}");
            }

            if (machine.Phase == MachinePhases.Running && machine.DesiredState == DesiredStates.Running)
            {
                return null;
            }

            if (machine.DesiredState == DesiredStates.Sleeping)
            {
                return (ExecutionErrorCodes.MachineStopped, $"machine {_record.MachineId} was put to sleep before the execution started");
            }

            var left = deadline - _supervisor.Time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return (ExecutionErrorCodes.MachineFailed, $"machine {_record.MachineId} did not wake within {WakeTimeout.TotalMinutes:0} minutes");
            }

            try
            {
                await change.WaitAsync(TimeSpan.FromSeconds(1) < left ? TimeSpan.FromSeconds(1) : left, _supervisor.Time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Read the machine again: the feed is a hint, the store decides.
            }
            catch (OperationCanceledException) when (_end.IsCancellationRequested)
            {
                return _endReason == EndReason.ServerStopping
                    ? (ExecutionErrorCodes.ServerRestarted, "the server stopped before the execution started")
                    : null;
            }
        }
    }

    /// <summary>When the machine no longer runs (asleep, destroyed, failed): what that means for the execution; else null.</summary>
    private async Task<(string Code, string Message)?> MachineGoneAsync()
    {
        var machine = await _supervisor.Store.GetMachineAsync(_record.MachineId, CancellationToken.None).ConfigureAwait(false);
        return machine switch
        {
            null => (ExecutionErrorCodes.MachineDestroyed, $"machine {_record.MachineId} was destroyed"),
            { DesiredState: DesiredStates.Destroyed } or { Phase: MachinePhases.Destroying or MachinePhases.Destroyed } =>
                (ExecutionErrorCodes.MachineDestroyed, $"machine {_record.MachineId} was destroyed while the execution ran"),
            { DesiredState: DesiredStates.Sleeping } => (ExecutionErrorCodes.MachineStopped, $"machine {_record.MachineId} went to sleep while the execution ran"),
            { Phase: MachinePhases.Failed } => (ExecutionErrorCodes.MachineFailed, $"machine {_record.MachineId} failed while the execution ran"),
            _ => null,
        };
    }

    private async Task WriteStdinAsync(Stream stdin, CancellationToken cancellationToken)
    {
        try
        {
            if (_input.Stdin.Length > 0)
            {
                await stdin.WriteAsync(_input.Stdin, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The command ended, or closed its stdin, before reading all of it.
        }
        finally
        {
            try
            {
                await stdin.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task PumpAsync(Stream stream, bool stdout, OutputCapture capture, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                capture.Append(stdout, buffer.AsSpan(0, read));
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Writes the output captured so far every <see cref="FlushInterval"/>, and reports activity on the machine (no autosleep under a running command).</summary>
    private async Task FlushLoopAsync(OutputCapture capture, CancellationToken cancellationToken)
    {
        var lastActivity = DateTimeOffset.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(FlushInterval, _supervisor.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var now = _supervisor.Time.GetUtcNow();
            if (now - lastActivity >= TimeSpan.FromSeconds(1))
            {
                _supervisor.Activity.Report(_record.MachineId);
                lastActivity = now;
            }

            if (capture.PendingChars > 0)
            {
                var (events, counts) = capture.TakePending();
                await WriteAsync(WithCounts(_record, counts), events).ConfigureAwait(false);
            }
        }
    }

    private async Task FinishAsync(
        string status,
        string? errorCode,
        string? errorMessage,
        MachineExitStatus exit,
        string? captureCode,
        IReadOnlyList<ExecutionEventRecord>? output = null,
        OutputCapture.Counts? counts = null)
    {
        var now = _supervisor.Time.GetUtcNow();
        var record = _record with
        {
            Status = status,
            CompletedAt = now,
            ExpiresAt = now + _supervisor.Options.ExecutionRetention,
            ExitCode = exit.ExitCode,
            Signal = exit.Signal,
            ErrorCode = errorCode,
            ErrorMessage = errorMessage,
            CaptureCode = captureCode,
        };
        if (counts is { } c)
        {
            record = WithCounts(record, c);
        }

        var final = new ExecutionEventRecord
        {
            Type = ExecutionEventTypes.Lifecycle,
            At = now,
            Status = status,
            ExitCode = exit.ExitCode,
            Signal = exit.Signal,
            ErrorCode = errorCode,
            ErrorMessage = errorMessage,
        };
        if (await WriteAsync(record, [.. output ?? [], final]).ConfigureAwait(false))
        {
            ServerLog.ExecutionEnded(_supervisor.Logger, _record.Id, _record.MachineId, status, exit.ExitCode, exit.Signal, errorCode);
        }

        _supervisor.Activity.Report(_record.MachineId);
    }

    /// <summary>Writes the next state with its events; false when the stored execution had ended already (then this runner stops writing).</summary>
    private async Task<bool> WriteAsync(ExecutionRecord next, IReadOnlyList<ExecutionEventRecord> events)
    {
        var written = await _supervisor.Store.UpdateExecutionAsync(next, events, _supervisor.Options.ExecutionsKeptPerMachine, CancellationToken.None).ConfigureAwait(false);
        if (written is null)
        {
            return false;
        }

        _record = written;
        _supervisor.Changed(_record.Id);
        return true;
    }

    private ExecutionEventRecord Lifecycle(string status) => new() { Type = ExecutionEventTypes.Lifecycle, At = _supervisor.Time.GetUtcNow(), Status = status };

    private static ExecutionRecord WithCounts(ExecutionRecord record, OutputCapture.Counts counts) => record with
    {
        StdoutBytes = counts.StdoutBytes,
        StderrBytes = counts.StderrBytes,
        StdoutKept = counts.StdoutKept,
        StderrKept = counts.StderrKept,
    };
}
