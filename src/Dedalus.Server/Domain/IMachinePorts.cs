namespace Dedalus.Server.Domain;

/// <summary>Opens and closes a machine's gateway listener; a no-op without a gateway.</summary>
public interface IMachinePorts
{
    Task OpenAsync(string machineId, int port, CancellationToken cancellationToken = default);

    Task CloseAsync(string machineId, CancellationToken cancellationToken = default);
}
