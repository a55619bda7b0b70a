using System.Diagnostics;

namespace Dedalus.Server.Bench;

/// <summary>One timed run of a load: <c>concurrency</c> workers repeat an operation until the time is up.</summary>
internal static class LoadRun
{
    /// <summary>Runs it and prints one row (unless a warm-up): requests, errors, requests per second, p50 and p99 in ms.</summary>
    public static async Task<(string Name, int Concurrency, double Rate)> RunAsync(string name, int concurrency, double seconds, Func<long, Task<bool>> operation)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var latencies = new List<double>[concurrency];
        long counter = 0;
        long errors = 0;
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(async w =>
        {
            var mine = latencies[w] = new List<double>(100_000);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var t0 = Stopwatch.GetTimestamp();
                if (!await operation(Interlocked.Increment(ref counter)))
                {
                    Interlocked.Increment(ref errors);
                }

                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        }).ToArray();
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        var rate = all.Length / elapsed;
        if (!name.StartsWith("warm-up", StringComparison.Ordinal))
        {
            System.Console.WriteLine($"{name,-28} {concurrency,5} {all.Length,9} {errors,7} {rate,9:F0} {Percentile(all, 0.50),8:F2} {Percentile(all, 0.99),8:F2}");
        }

        return (name, concurrency, rate);
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}
