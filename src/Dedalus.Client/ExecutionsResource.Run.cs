using Dedalus.Contracts;

namespace Dedalus.Client;

public sealed partial class ExecutionsResource
{
    /// <summary>How long a best-effort cancel on the server may take once the caller has given up.</summary>
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs a command in a machine and waits for its end: creates the execution (waking a sleeping machine), follows its
    /// events (<paramref name="onEvent"/> sees each output chunk as it arrives), then reads the final state and the kept
    /// output. A command that exits non-zero, is killed or times out is a result, not an exception: see
    /// <see cref="ExecutionResult.ExitCode"/>, <see cref="ExecutionResult.Signal"/> and <see cref="ExecutionResult.ErrorCode"/>.
    /// </summary>
    /// <remarks>
    /// Cancelling <paramref name="cancellationToken"/> cancels the execution on the server (<c>DELETE</c>, best effort,
    /// bounded to a few seconds) before the <see cref="OperationCanceledException"/> is thrown; that includes an
    /// execution whose create request was still in flight (its answer is awaited for those few seconds). So does an
    /// exception thrown by <paramref name="onEvent"/>, which then propagates.
    /// </remarks>
    /// <param name="machineId">The machine id (<c>dm-&lt;uuid&gt;</c> or the bare uuid).</param>
    /// <param name="request">The argv and its working directory, environment, stdin and time limit.</param>
    /// <param name="onEvent">
    /// Called with every event (<c>lifecycle</c>, <c>stdout</c>, <c>stderr</c>) once, in <c>sequence</c> order, and awaited
    /// before the next is read; <c>stdout</c>/<c>stderr</c> events carry the text in <see cref="ExecutionEvent.Chunk"/>.
    /// </param>
    /// <param name="progress">
    /// Told of the execution as created (its status says whether the machine is waking) and in its final state; called
    /// on the awaiting flow, not posted.
    /// </param>
    /// <param name="cancellationToken">Cancels the run and the execution.</param>
    /// <returns>The finished execution with its kept stdout and stderr.</returns>
    public async Task<ExecutionResult> RunAsync(
        string machineId,
        CreateExecutionRequest request,
        Func<ExecutionEvent, CancellationToken, ValueTask>? onEvent = null,
        IProgress<Execution>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var execution = await CreateCancellableAsync(machineId, request, cancellationToken).ConfigureAwait(false);
        progress?.Report(execution);
        var finished = await WaitUntilFinishedAsync(execution, onEvent, cancellationToken).ConfigureAwait(false);
        progress?.Report(finished);
        var output = await GetOutputAsync(finished.MachineId, finished.ExecutionId, cancellationToken).ConfigureAwait(false);
        return new ExecutionResult(finished, output);
    }

    /// <summary>
    /// Waits until an execution has finished, following its events (see <see cref="FollowEventsAsync"/>), and returns
    /// its final state. Cancelling <paramref name="cancellationToken"/>, or an exception from <paramref name="onEvent"/>,
    /// cancels the execution on the server (<c>DELETE</c>, best effort, bounded to a few seconds) before propagating; to
    /// stop watching without cancelling, enumerate <see cref="FollowEventsAsync"/> instead.
    /// </summary>
    /// <param name="execution">The execution, as <see cref="CreateAsync"/> or <see cref="GetAsync"/> returned it.</param>
    /// <param name="onEvent">Called with every event once, in <c>sequence</c> order, and awaited before the next is read.</param>
    /// <param name="cancellationToken">Cancels the wait and the execution.</param>
    /// <returns>The execution in its final state (<c>succeeded</c>, <c>failed</c> or <c>cancelled</c>).</returns>
    /// <exception cref="DedalusException">The server sent ids that no request can name (a server bug).</exception>
    public async Task<Execution> WaitUntilFinishedAsync(
        Execution execution,
        Func<ExecutionEvent, CancellationToken, ValueTask>? onEvent = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ThrowIfUnaddressable(execution);
        var machineId = execution.MachineId;
        var executionId = execution.ExecutionId;
        var cancelled = false;
        try
        {
            await foreach (var item in FollowEventsAsync(machineId, executionId, 0, cancellationToken).ConfigureAwait(false))
            {
                if (onEvent is null)
                {
                    continue;
                }

                try
                {
                    await onEvent(item, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    cancelled = true;
                    await CancelQuietlyAsync(machineId, executionId).ConfigureAwait(false);
                    throw;
                }
            }

            // The events end with the execution's; a server whose events could end first is read until it agrees.
            var finished = await GetAsync(machineId, executionId, cancellationToken).ConfigureAwait(false);
            while (!ExecutionStatuses.IsFinished(finished.Status))
            {
                await Task.Delay(PollDelay(finished), _requester.TimeProvider, cancellationToken).ConfigureAwait(false);
                finished = await GetAsync(machineId, executionId, cancellationToken).ConfigureAwait(false);
            }

            return finished;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !cancelled)
        {
            await CancelQuietlyAsync(machineId, executionId).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Creates the execution; when the caller cancels while the request is in flight, the server may already have
    /// accepted it, so its answer is awaited a few more seconds and what it created is cancelled.
    /// </summary>
    private async Task<Execution> CreateCancellableAsync(string machineId, CreateExecutionRequest request, CancellationToken cancellationToken)
    {
        using var createCts = new CancellationTokenSource();
        var creating = CreateAsync(machineId, request, createCts.Token);
        try
        {
            return await creating.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            createCts.CancelAfter(CancelGrace);
            try
            {
                var created = await creating.ConfigureAwait(false);
                await CancelQuietlyAsync(created.MachineId, created.ExecutionId).ConfigureAwait(false);
            }
            catch (Exception e) when (e is DedalusException or OperationCanceledException or HttpRequestException or ArgumentException)
            {
                // Not created, or not known in time: nothing more can be done without its id.
            }

            throw;
        }
    }

    /// <summary>
    /// Cancels an execution the caller gave up on. The caller's token is already cancelled (or an exception is on its
    /// way), so the request runs on a token of its own, bounded by <see cref="CancelGrace"/>; a failure is not reported.
    /// </summary>
    private async Task CancelQuietlyAsync(string machineId, string executionId)
    {
        using var cts = new CancellationTokenSource(CancelGrace, _requester.TimeProvider);
        try
        {
            await CancelAsync(machineId, executionId, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DedalusException or OperationCanceledException or HttpRequestException or ArgumentException)
        {
            // Best effort: the execution still ends at its timeout_ms.
        }
    }

    /// <summary>The ids the server sent go into paths next: ids of another shape are the server's bug, not a request to send.</summary>
    private static void ThrowIfUnaddressable(Execution execution)
    {
        if (!ExecutionIdShape.IsWellFormed(execution.ExecutionId) || !MachineIds.TryParse(execution.MachineId, out _))
        {
            throw new DedalusException(
                $"the server sent execution id '{IdText.Shown(execution.ExecutionId ?? string.Empty)}' on machine '{IdText.Shown(execution.MachineId ?? string.Empty)}', " +
                "which are not ids a request can name; this is a server bug");
        }
    }
}
