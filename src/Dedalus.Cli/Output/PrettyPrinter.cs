using System.Text;
using System.Text.Json;

namespace Dedalus.Cli.Output;

/// <summary>Human-readable view: aligned <c>key  value</c> lines for an object (nested keys dotted), a table for a list.</summary>
internal static class PrettyPrinter
{
    /// <param name="element">The value.</param>
    /// <param name="leadingColumns">Keys shown first (after the first key of the value), even when absent: a machine's <c>name</c>.</param>
    public static string Render(JsonElement element, IReadOnlyList<string>? leadingColumns = null)
    {
        leadingColumns ??= [];
        var builder = new StringBuilder();
        if (element.ValueKind == JsonValueKind.Array && element.EnumerateArray().All(i => i.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array)) && element.GetArrayLength() > 0)
        {
            foreach (var item in element.EnumerateArray())
            {
                builder.Append(OutputWriter.Scalar(item).ReplaceLineEndings(" ")).Append('\n');
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            RenderTable(builder, [.. element.EnumerateArray()], leadingColumns);
        }
        else if (element.ValueKind == JsonValueKind.Object)
        {
            var rows = new List<(string Key, string Value)>();
            Flatten(element, string.Empty, rows);
            rows = Lead(rows, r => r.Item1, leadingColumns, key => (key, string.Empty));
            var width = rows.Count == 0 ? 0 : rows.Max(r => r.Key.Length);
            foreach (var (key, value) in rows)
            {
                builder.Append(key.PadRight(width)).Append("  ").Append(value).Append('\n');
            }
        }
        else
        {
            builder.Append(OutputWriter.Scalar(element)).Append('\n');
        }

        return builder.ToString();
    }

    private static void Flatten(JsonElement element, string prefix, List<(string, string)> rows)
    {
        foreach (var property in element.EnumerateObject())
        {
            var key = prefix + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                Flatten(property.Value, key + ".", rows);
            }
            else
            {
                var value = property.Value.ValueKind == JsonValueKind.Array
                    ? string.Join(", ", property.Value.EnumerateArray().Select(OutputWriter.Scalar))
                    : OutputWriter.Scalar(property.Value);
                rows.Add((key, value.ReplaceLineEndings(" ")));
            }
        }
    }

    /// <summary>
    /// <paramref name="values"/> with the leading keys moved right after the first value (a machine's id, then its
    /// name), in their order; a leading key that is absent is added with <paramref name="absent"/>.
    /// </summary>
    private static List<T> Lead<T>(List<T> values, Func<T, string> key, IReadOnlyList<string> leading, Func<string, T> absent)
    {
        if (leading.Count == 0 || values.Count == 0)
        {
            return values;
        }

        var first = values[0];
        var rest = values.Skip(1).Where(v => !leading.Contains(key(v))).ToList();
        var lead = leading.Where(l => l != key(first)).Select(l => values.FirstOrDefault(v => key(v) == l) is { } found && key(found) == l ? found : absent(l));
        return [first, .. lead, .. rest];
    }

    private static void RenderTable(StringBuilder builder, List<JsonElement> items, IReadOnlyList<string> leadingColumns)
    {
        if (items.Count == 0)
        {
            builder.Append("(none)\n");
            return;
        }

        var columns = new List<string>();
        foreach (var item in items.Where(i => i.ValueKind == JsonValueKind.Object))
        {
            foreach (var property in item.EnumerateObject())
            {
                if (property.Value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array) && !columns.Contains(property.Name))
                {
                    columns.Add(property.Name);
                }
            }
        }

        columns = Lead(columns, c => c, leadingColumns, c => c);
        var cells = items.Select(item => columns.Select(c =>
            item.ValueKind == JsonValueKind.Object && item.TryGetProperty(c, out var v) ? OutputWriter.Scalar(v).ReplaceLineEndings(" ") : string.Empty).ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Length, cells.Max(row => row[i].Length))).ToArray();
        builder.AppendJoin("  ", columns.Select((c, i) => c.ToUpperInvariant().PadRight(widths[i]))).Append('\n');
        foreach (var row in cells)
        {
            builder.AppendJoin("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).Append('\n');
        }
    }
}
