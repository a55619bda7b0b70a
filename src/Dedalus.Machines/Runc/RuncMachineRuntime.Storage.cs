using Dedalus.Machines.Host;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    /// <summary>
    /// The disk space the machines' home images (sparse ext4 files of <c>storage_gib</c> each) hold now, in bytes: the
    /// part of their storage already taken from the host's free space. A host-capacity check adds it back to the free
    /// space so that an existing machine's storage is not counted twice. Reads only file metadata.
    /// </summary>
    public static long HomeImageBytes(RuncRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Directory.Exists(options.MachinesDirectory))
        {
            return 0;
        }

        long total = 0;
        foreach (var directory in Directory.EnumerateDirectories(options.MachinesDirectory))
        {
            total += NativeMethods.AllocatedBytes(new MachinePaths(options.MachinesDirectory, Path.GetFileName(directory)).HomeImage);
        }

        return total;
    }
}
