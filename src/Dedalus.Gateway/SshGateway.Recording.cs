using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway;

/// <summary>The end of a connection: the audit record for the backend, and the sshd process.</summary>
public sealed partial class SshGateway
{
    private async Task RecordAsync(GatewayConnection connection, string? detail)
    {
        var end = connection.End ?? GatewayConnectionEnd.Error;
        var record = new GatewayConnectionRecord(
            connection.Id,
            connection.MachineId,
            connection.SessionId,
            connection.Serial,
            connection.Peer,
            connection.StartedAt,
            _timeProvider.GetUtcNow(),
            connection.BytesFromClient,
            connection.BytesToClient,
            end,
            detail,
            connection.StderrTail());
        GatewayLog.ConnectionEnded(_logger, record.ConnectionId, record.MachineId, end.ToWireName(), record.BytesFromClient, record.BytesToClient, (long)record.Duration.TotalMilliseconds);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _timeProvider);
            await _backend.RecordConnectionAsync(record, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            GatewayLog.BackendCallFailed(_logger, nameof(IGatewayBackend.RecordConnectionAsync), record.MachineId, ex);
        }
    }

    private async Task DisposeProcessAsync(IMachineProcess process)
    {
        try
        {
            if (!process.Exited.IsCompleted)
            {
                process.Kill();
            }

            await process.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            GatewayLog.ConnectionFailed(_logger, 0, "-", "disposing the sshd process failed", ex);
        }
    }
}
