using System.Diagnostics;
using Xunit.Abstractions;

namespace Dedalus.Machines.Tests;

public sealed class MachineWakeTests(MachineRuntimeFixture fixture, ITestOutputHelper output) : IClassFixture<MachineRuntimeFixture>
{
    [Fact]
    public async Task A_machine_sleeps_and_wakes_ten_times_in_a_row_and_answers_each_time()
    {
        var id = await fixture.StartMachineAsync();
        var wakes = new List<double>();
        var sleeps = new List<double>();

        for (var i = 0; i < 10; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
            sleeps.Add(stopwatch.Elapsed.TotalMilliseconds);
            Assert.Equal(MachineRuntimeState.Sleeping, await fixture.Runtime.GetStateAsync(id));

            stopwatch.Restart();
            await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
            wakes.Add(stopwatch.Elapsed.TotalMilliseconds);
            Assert.Equal(id, await Tools.BashCheckedAsync(fixture.Runtime, id, "hostname"));
        }

        // Figures for the report (tests assert behaviour, not timings).
        output.WriteLine($"wake ms: median {Median(wakes):F0}, min {wakes.Min():F0}, max {wakes.Max():F0} [{string.Join(", ", wakes.Select(w => w.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))}]");
        output.WriteLine($"sleep ms: median {Median(sleeps):F0}, min {sleeps.Min():F0}, max {sleeps.Max():F0}");
        Assert.Equal(10, wakes.Count);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return (sorted[(sorted.Length - 1) / 2] + sorted[sorted.Length / 2]) / 2;
    }
}
