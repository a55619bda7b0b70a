using System.Globalization;

namespace Dedalus.Server.Quotas;

/// <summary>
/// The real host: CPUs as .NET sees them, memory from <c>/proc/meminfo</c>, and storage from statvfs on the data
/// directory (through <see cref="DriveInfo"/>) plus what the machine images hold (<paramref name="imageBytes"/>, the
/// runtime's measure).
/// </summary>
public sealed class HostResources(string dataDirectory, double overcommit, Func<long> imageBytes) : IHostResources
{
    private readonly Lazy<long> _memoryMib = new(ReadMemoryMib);

    public double Cpus => Environment.ProcessorCount;

    public long MemoryMib => _memoryMib.Value;

    public StorageCapacity MeasureStorage() => new(new DriveInfo(dataDirectory).AvailableFreeSpace, imageBytes(), overcommit);

    /// <summary>MemTotal of <c>/proc/meminfo</c> (the host's, not a cgroup's: machines have cgroups of their own), else what the runtime sees.</summary>
    private static long ReadMemoryMib()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts is ["MemTotal:", var kib, "kB"] && long.TryParse(kib, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                {
                    return value / 1024;
                }
            }
        }
        catch (IOException)
        {
            // Not Linux's procfs: fall through.
        }

        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024);
    }
}
