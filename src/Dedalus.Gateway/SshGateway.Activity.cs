namespace Dedalus.Gateway;

/// <summary>Activity reports: an open connection keeps its machine awake.</summary>
public sealed partial class SshGateway
{
    private void ReportActivityOfOpenMachines()
    {
        foreach (var listener in _listeners.Values)
        {
            if (listener.Count > 0)
            {
                ReportActivity(listener.MachineId);
            }
        }
    }

    private void ReportActivity(string machineId)
    {
        try
        {
            _backend.ReportActivity(machineId);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            GatewayLog.BackendCallFailed(_logger, nameof(IGatewayBackend.ReportActivity), machineId, ex);
        }
    }
}
