namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>One sample of a Prometheus text exposition: a series name, its labels and its value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string? Label(string name) => Labels.GetValueOrDefault(name);
}
