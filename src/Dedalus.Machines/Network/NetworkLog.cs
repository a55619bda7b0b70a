using Microsoft.Extensions.Logging;

namespace Dedalus.Machines.Network;

/// <summary>Source-generated log messages of machine networking; event ids 2200-2299.</summary>
internal static partial class NetworkLog
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Debug, Message = "Network {Instance}: rules applied for {MachineCount} machines")]
    public static partial void RulesApplied(ILogger logger, string instance, int machineCount);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Network {Instance}: IP forwarding was off; turned on (forwarding scoped to machines)")]
    public static partial void ForwardingEnabled(ILogger logger, string instance);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Network {Instance}: IP forwarding turned off again (no Dedalus instance needs it)")]
    public static partial void ForwardingRestored(ILogger logger, string instance);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "Network {Instance}: DNS forwarder started (pid {Pid}, upstreams {Upstreams})")]
    public static partial void ForwarderStarted(ILogger logger, string instance, int pid, string upstreams);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Information, Message = "Network {Instance}: DNS forwarder adopted (pid {Pid})")]
    public static partial void ForwarderAdopted(ILogger logger, string instance, int pid);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Information, Message = "Network {Instance}: DNS forwarder stopped (pid {Pid})")]
    public static partial void ForwarderStopped(ILogger logger, string instance, int pid);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Debug, Message = "Machine {MachineId}: network up ({Address} on {HostLink}) in {ElapsedMs} ms")]
    public static partial void MachineUp(ILogger logger, string machineId, string address, string hostLink, long elapsedMs);

    [LoggerMessage(EventId = 2207, Level = LogLevel.Debug, Message = "Machine {MachineId}: network down")]
    public static partial void MachineDown(ILogger logger, string machineId);

    [LoggerMessage(EventId = 2208, Level = LogLevel.Warning, Message = "Machine {MachineId}: its host link was missing and is made again")]
    public static partial void MachineLinkRepaired(ILogger logger, string machineId);

    [LoggerMessage(EventId = 2209, Level = LogLevel.Warning, Message = "Network {Instance}: not shut down, {RunningCount} machines still run on it")]
    public static partial void ShutdownSkipped(ILogger logger, string instance, int runningCount);

    [LoggerMessage(EventId = 2210, Level = LogLevel.Information, Message = "Network {Instance}: shut down (table, bridge, forwarder removed)")]
    public static partial void ShutDown(ILogger logger, string instance);
}
