namespace Dedalus.Machines.Host;

/// <summary>One line of <c>/proc/self/mountinfo</c>: where, what type, from which source.</summary>
internal sealed record MountEntry(string MountPoint, string FileSystemType, string Source);
