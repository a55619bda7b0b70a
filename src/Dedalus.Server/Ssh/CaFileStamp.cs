namespace Dedalus.Server.Ssh;

/// <summary>
/// The modification time (ticks) and length of each CA file that decides the keys, from one <c>stat</c> each
/// (<see cref="CaFiles.Stamp"/>); a missing file reads (0, -1). Equal stamps: nothing was written since.
/// </summary>
public readonly record struct CaFileStamp((long Ticks, long Length) UserCa, (long Ticks, long Length) RetiredUserCas, (long Ticks, long Length) HostCa);
