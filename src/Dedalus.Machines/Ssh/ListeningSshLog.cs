using Microsoft.Extensions.Logging;

namespace Dedalus.Machines.Ssh;

/// <summary>Source-generated log messages of <see cref="ListeningSshServerConnector"/>; event ids 2300-2319.</summary>
internal static partial class ListeningSshLog
{
    [LoggerMessage(EventId = 2300, Level = LogLevel.Information, Message = "Machine {MachineId}: sshd listening on {EndPoint}")]
    public static partial void DaemonListening(ILogger logger, string machineId, string endPoint);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Machine {MachineId}: sshd could not listen on {EndPoint} ({Detail}); this connection uses sshd -i")]
    public static partial void DaemonFailed(ILogger logger, string machineId, string endPoint, string detail);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Information, Message = "Machine {MachineId}: sshd on {EndPoint} ended")]
    public static partial void DaemonEnded(ILogger logger, string machineId, string endPoint);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning, Message = "Machine {MachineId}: connect to sshd on {EndPoint} failed ({Detail}); this connection uses sshd -i")]
    public static partial void ConnectFailed(ILogger logger, string machineId, string endPoint, string detail);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Debug, Message = "Machine {MachineId}: sshd line for no gateway connection dropped: {Line}")]
    public static partial void LineDropped(ILogger logger, string machineId, string line);
}
