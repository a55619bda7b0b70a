using Microsoft.Extensions.Logging;

namespace Dedalus.Machines.Images;

internal static partial class Log
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Provisioning base userland into {RootFileSystem} from {Mirror}")]
    public static partial void BaseImageBuilding(ILogger logger, string rootFileSystem, string mirror);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Base userland {RootFileSystem} ready in {ElapsedMs} ms ({SizeMb} MB)")]
    public static partial void BaseImageBuilt(ILogger logger, string rootFileSystem, long elapsedMs, long sizeMb);
}
