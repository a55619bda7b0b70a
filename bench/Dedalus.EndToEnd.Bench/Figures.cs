using System.Globalization;

namespace Dedalus.EndToEnd.Bench;

/// <summary>Medians and the "median, p90, min" table rows every section prints.</summary>
internal static class Figures
{
    public static string Row(string name, IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return string.Create(CultureInfo.InvariantCulture, $"| {name} | {Median(values):F1} | {sorted[Math.Min(sorted.Length - 1, (int)(0.9 * sorted.Length))]:F1} | {sorted[0]:F1} |");
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
