namespace Dedalus.Server.Gateway;

/// <summary>Opens and closes a machine's gateway listener (the reconciler does both); a no-op without a gateway.</summary>
public interface IMachinePorts
{
    /// <summary>Listens for the machine on its port; idempotent. A port that cannot be bound is logged, not thrown.</summary>
    Task OpenAsync(string machineId, int port, CancellationToken cancellationToken = default);

    /// <summary>Stops listening for the machine and cuts its connections.</summary>
    Task CloseAsync(string machineId, CancellationToken cancellationToken = default);
}
