using Microsoft.Extensions.Logging;

namespace Dedalus.Machines.Images;

/// <summary>Source-generated log messages of the base userland; event ids 2100-2199.</summary>
internal static partial class BaseImageLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Provisioning base userland into {RootFileSystem} from {Mirror}")]
    public static partial void BaseImageBuilding(ILogger logger, string rootFileSystem, string mirror);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Base userland {RootFileSystem} ready in {ElapsedMs} ms ({SizeMb} MB)")]
    public static partial void BaseImageBuilt(ILogger logger, string rootFileSystem, long elapsedMs, long sizeMb);
}
