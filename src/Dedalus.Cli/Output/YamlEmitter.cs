using System.Text;
using System.Text.Json;

namespace Dedalus.Cli.Output;

/// <summary>A small YAML 1.2 emitter for JSON values (block style; strings quoted when YAML would misread them).</summary>
internal static class YamlEmitter
{
    public static void Write(StringBuilder builder, JsonElement element)
    {
        WriteValue(builder, element, 0, inSequence: false);
        if (builder.Length == 0 || builder[^1] != '\n')
        {
            builder.Append('\n');
        }
    }

    private static void WriteValue(StringBuilder builder, JsonElement element, int indent, bool inSequence)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                WriteEntries(builder, element.EnumerateObject().Select(p => (Key(p.Name) + ":", p.Value, IsItem: false)), indent, inSequence, "{}");
                break;
            case JsonValueKind.Array:
                WriteEntries(builder, element.EnumerateArray().Select(item => ("- ", item, IsItem: true)), indent, inSequence, "[]");
                break;
            default:
                builder.Append(Scalar(element)).Append('\n');
                break;
        }
    }

    /// <summary>
    /// The entries of a mapping (<c>key:</c>) or a sequence (<c>- </c>), one per line at <paramref name="indent"/>; the first
    /// shares the line of the <c>- </c> that holds it when the collection is itself a sequence item.
    /// </summary>
    private static void WriteEntries(
        StringBuilder builder, IEnumerable<(string Prefix, JsonElement Value, bool IsItem)> entries, int indent, bool inSequence, string empty)
    {
        var first = true;
        foreach (var (prefix, value, isItem) in entries)
        {
            if (!(first && inSequence))
            {
                builder.Append(' ', indent);
            }

            first = false;
            builder.Append(prefix);
            var nested = value.ValueKind is JsonValueKind.Object or JsonValueKind.Array && HasChildren(value);
            if (nested)
            {
                // A sequence item's collection starts on the item's line; a mapping value's on the next line.
                builder.Append(isItem ? string.Empty : "\n");
                WriteValue(builder, value, indent + 2, inSequence: isItem);
            }
            else
            {
                builder.Append(isItem ? string.Empty : " ").Append(Scalar(value)).Append('\n');
            }
        }

        if (first)
        {
            builder.Append(empty).Append('\n');
        }
    }

    private static bool HasChildren(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => value.EnumerateObject().Any(),
        JsonValueKind.Array => value.GetArrayLength() > 0,
        _ => false,
    };

    private static string Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => Quote(value.GetString() ?? string.Empty),
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "{}",
        JsonValueKind.Array => "[]",
        _ => OutputWriter.Scalar(value),
    };

    private static string Key(string key) => Quote(key);

    private static string Quote(string text)
    {
        var plain = text.Length > 0
            && !char.IsWhiteSpace(text[0]) && !char.IsWhiteSpace(text[^1])
            && text.AsSpan().IndexOfAny(":#{}[],&*!|>'\"%@`\n\r\t\\") < 0
            && !"-?".Contains(text[0], StringComparison.Ordinal)
            && !IsSpecial(text);
        if (plain)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            _ = c switch
            {
                '"' => builder.Append("\\\""),
                '\\' => builder.Append("\\\\"),
                '\n' => builder.Append("\\n"),
                '\r' => builder.Append("\\r"),
                '\t' => builder.Append("\\t"),
                < ' ' => builder.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture)),
                _ => builder.Append(c),
            };
        }

        return builder.Append('"').ToString();
    }

    private static bool IsSpecial(string text) =>
        text is "true" or "false" or "null" or "~" or "yes" or "no" or "on" or "off" or "True" or "False" or "Null" or "NULL" or "TRUE" or "FALSE"
        || double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)
        || text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || text.StartsWith("0o", StringComparison.OrdinalIgnoreCase)
        || text is ".inf" or "-.inf" or ".nan" or ".NaN" or ".Inf";
}
