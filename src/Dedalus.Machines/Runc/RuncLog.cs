using Microsoft.Extensions.Logging;

namespace Dedalus.Machines.Runc;

/// <summary>Source-generated log messages of the runc engine; event ids 2000-2099 (base userland: 2100-2199, gateway: 3000-3099, server: 1000-1999).</summary>
internal static partial class RuncLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Machine {MachineId} created: {Vcpu} vcpu, {MemoryMib} MiB, {StorageGib} GiB")]
    public static partial void MachineCreated(ILogger logger, string machineId, double vcpu, long memoryMib, long storageGib);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Machine {MachineId} started in {ElapsedMs} ms")]
    public static partial void MachineStarted(ILogger logger, string machineId, long elapsedMs);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Machine {MachineId} asleep in {ElapsedMs} ms")]
    public static partial void MachineStopped(ILogger logger, string machineId, long elapsedMs);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Machine {MachineId} deleted")]
    public static partial void MachineDeleted(ILogger logger, string machineId);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Machine {MachineId} found in runc state '{Status}' or with stale mounts; cleaning before start")]
    public static partial void MachineRepairing(ILogger logger, string machineId, string status);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Machine {MachineId} failed to start")]
    public static partial void MachineStartFailed(ILogger logger, string machineId, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Machine {MachineId} resized: {Vcpu} vcpu, {MemoryMib} MiB, {StorageGib} GiB (live: {Live})")]
    public static partial void MachineResized(ILogger logger, string machineId, double vcpu, long memoryMib, long storageGib, bool live);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Debug, Message = "Exec in machine {MachineId} as {User}: {Program}")]
    public static partial void MachineExec(ILogger logger, string machineId, string user, string program);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "SSH trust written: {CaKeyCount} user CA keys, KRL of {KrlBytes} bytes")]
    public static partial void SshTrustWritten(ILogger logger, int caKeyCount, int krlBytes);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Machine {MachineId}: home could not grow online ({Reason}); it grows at the next wake")]
    public static partial void HomeGrowDeferred(ILogger logger, string machineId, string reason);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Machine {MachineId} memory: {MemoryMib} MiB, hold at limit {HoldAtLimit} (live: {Live})")]
    public static partial void MachineMemorySet(ILogger logger, string machineId, long memoryMib, bool holdAtLimit, bool live);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Machine {MachineId}: SIGTERM to {Signalled} processes, {Left} left after {ElapsedMs} ms of a {GraceMs} ms grace")]
    public static partial void MachineTerminated(ILogger logger, string machineId, int signalled, int left, long elapsedMs, long graceMs);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Machine {MachineId} is held at its memory limit while it stops: held processes act on SIGTERM only once the limit is raised")]
    public static partial void MachineHeldAtStop(ILogger logger, string machineId);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Base userland: {Message}")]
    public static partial void BaseImageProgress(ILogger logger, string message);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Information, Message = "Machine {MachineId} moved from the shared uid range to its own, host uids {First}-{Last} ({Files} files changed owner)")]
    public static partial void MachineMovedToOwnUidRange(ILogger logger, string machineId, int first, int last, int files);
}
