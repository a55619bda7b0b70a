namespace Dedalus.Server.Gateway;

/// <summary>Opens and closes a machine's gateway listener (the reconciler does both); a no-op without a gateway.</summary>
public interface IMachinePorts
{
    /// <summary>
    /// Listens for the machine on <paramref name="port"/>; idempotent. A listener of the machine on another port is
    /// closed first (the stored port wins). A port that cannot be bound is an outcome, not an exception.
    /// </summary>
    Task<PortOpenResult> OpenAsync(string machineId, int port, CancellationToken cancellationToken = default);

    /// <summary>Stops listening for the machine and cuts its connections.</summary>
    Task CloseAsync(string machineId, CancellationToken cancellationToken = default);
}
