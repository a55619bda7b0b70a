using System.Globalization;
using System.Text;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// Reads the Prometheus text exposition format (version 0.0.4): <c># TYPE</c>/<c># HELP</c> comments, and one sample a
/// line as <c>name{label="value",...} value</c>, label values escaped with <c>\\</c>, <c>\"</c> and <c>\n</c>. Strict:
/// a line it cannot read fails the test, so a malformed exposition is caught here rather than by Prometheus.
/// </summary>
public sealed class PrometheusText
{
    private PrometheusText(IReadOnlyList<PrometheusSample> samples, IReadOnlyDictionary<string, string> types)
    {
        Samples = samples;
        Types = types;
    }

    public IReadOnlyList<PrometheusSample> Samples { get; }

    /// <summary>Each metric family's <c># TYPE</c> (counter, gauge, histogram...).</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    public IEnumerable<PrometheusSample> Series(string name) => Samples.Where(s => s.Name == name);

    /// <summary>The value of the one sample of <paramref name="name"/> with these labels (others may be present); 0 when there is none.</summary>
    public double Value(string name, params (string Label, string Value)[] labels)
    {
        var matches = Series(name).Where(s => labels.All(l => s.Label(l.Label) == l.Value)).ToList();
        Assert.True(matches.Count <= 1, $"{matches.Count} series of {name} match {string.Join(',', labels)}");
        return matches.Count == 0 ? 0 : matches[0].Value;
    }

    public static PrometheusText Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length == 4 && parts[1] == "TYPE")
                {
                    types[parts[2]] = parts[3];
                }

                continue;
            }

            samples.Add(ParseSample(line));
        }

        return new PrometheusText(samples, types);
    }

    private static PrometheusSample ParseSample(string line)
    {
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':'))
        {
            i++;
        }

        Assert.True(i > 0, $"no metric name in '{line}'");
        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                Assert.True(eq > i && line[eq + 1] == '"', $"bad label at {i} in '{line}'");
                var label = line[i..eq];
                var value = new StringBuilder();
                var j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] switch { 'n' => '\n', var c => c });
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }

                labels[label] = value.ToString();
                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
            }

            i++;
        }

        var rest = line[i..].Trim().Split(' ');
        Assert.True(double.TryParse(rest[0].Replace("+Inf", "Infinity", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var sample),
            $"bad value in '{line}'");
        return new PrometheusSample(name, labels, sample);
    }
}
