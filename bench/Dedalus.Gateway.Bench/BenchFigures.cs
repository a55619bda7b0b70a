namespace Dedalus.Gateway.Bench;

/// <summary>Medians and the one-line "through the gateway vs direct" figure every mode prints.</summary>
internal static class BenchFigures
{
    public static void Report(string name, IReadOnlyList<double> viaGateway, IReadOnlyList<double> viaDirect, string unit)
    {
        var gatewayMedian = Median(viaGateway);
        var directMedian = Median(viaDirect);
        Console.WriteLine(
            $"{name}: gateway median {gatewayMedian:F1} {unit} (mean {viaGateway.Average():F1}, n={viaGateway.Count}), " +
            $"direct median {directMedian:F1} {unit} (mean {viaDirect.Average():F1}, n={viaDirect.Count}), ratio gateway/direct {gatewayMedian / directMedian:F2}");
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
