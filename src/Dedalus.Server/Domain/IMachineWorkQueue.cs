namespace Dedalus.Server.Domain;

/// <summary>Asks the reconciler to look at a machine soon. Repeated requests coalesce.</summary>
public interface IMachineWorkQueue
{
    void Kick(string machineId);
}
