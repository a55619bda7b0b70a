using System.Globalization;

namespace Dedalus.Gateway.Bench;

/// <summary>
/// Bytes: this process's managed heap and RSS, host memory in use (negated MemAvailable: noisy on a shared host), and
/// the kernel's slab (where socket structures live; less noisy).
/// </summary>
internal sealed record Footprint(double Managed, double Rss, double HostUsed, double Slab)
{
    public static Footprint operator -(Footprint a, Footprint b) => new(a.Managed - b.Managed, a.Rss - b.Rss, a.HostUsed - b.HostUsed, a.Slab - b.Slab);

    public static Footprint operator /(Footprint a, int n) => new(a.Managed / n, a.Rss / n, a.HostUsed / n, a.Slab / n);

    /// <summary>Measures after a second of settling and full collections.</summary>
    public static async Task<Footprint> MeasureAsync()
    {
        await Task.Delay(1000);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return new Footprint(
            GC.GetTotalMemory(forceFullCollection: true),
            ReadKib("/proc/self/status", "VmRSS:"),
            -ReadKib("/proc/meminfo", "MemAvailable:"),
            ReadKib("/proc/meminfo", "Slab:"));
    }

    private static double ReadKib(string file, string key)
    {
        foreach (var line in File.ReadLines(file))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(key.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024.0;
            }
        }

        return 0;
    }
}
