namespace Dedalus.Gateway;

/// <summary>
/// What the gateway asks of the control plane. Implementations must be thread-safe; the gateway
/// calls them concurrently from many connections.
/// </summary>
public interface IGatewayBackend
{
    /// <summary>Decides whether a new connection to <paramref name="machineId"/> may proceed.</summary>
    ValueTask<GatewayAdmission> AdmitAsync(string machineId, CancellationToken cancellationToken);

    /// <summary>
    /// Wakes a sleeping machine that has a live session; completes when it runs (the gateway then
    /// starts sshd). Throwing ends the connection with <see cref="GatewayConnectionEnd.Error"/>.
    /// </summary>
    ValueTask WakeAsync(string machineId, CancellationToken cancellationToken);

    /// <summary>Stores the audit record of a finished (or refused) connection.</summary>
    ValueTask RecordConnectionAsync(GatewayConnectionRecord record, CancellationToken cancellationToken);

    /// <summary>
    /// The machine has an open connection: counts as activity for autosleep. Called when a
    /// connection opens, every <see cref="GatewayOptions.ActivityReportInterval"/> while any is
    /// open, and when one closes. Must be cheap and must not block.
    /// </summary>
    void ReportActivity(string machineId);
}
