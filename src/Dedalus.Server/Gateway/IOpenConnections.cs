namespace Dedalus.Server.Gateway;

/// <summary>How many SSH connections each machine has open right now: an open connection keeps a machine awake.</summary>
public interface IOpenConnections
{
    int Count(string machineId);
}
