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
                var first = true;
                var any = false;
                foreach (var property in element.EnumerateObject())
                {
                    any = true;
                    if (!(first && inSequence))
                    {
                        builder.Append(' ', indent);
                    }

                    first = false;
                    builder.Append(Key(property.Name)).Append(':');
                    WriteNested(builder, property.Value, indent);
                }

                if (!any)
                {
                    builder.Append("{}\n");
                }

                break;
            case JsonValueKind.Array:
                var items = false;
                var firstItem = true;
                foreach (var item in element.EnumerateArray())
                {
                    items = true;
                    if (!(firstItem && inSequence))
                    {
                        builder.Append(' ', indent);
                    }

                    firstItem = false;
                    builder.Append("- ");
                    if (item.ValueKind is JsonValueKind.Object or JsonValueKind.Array && HasChildren(item))
                    {
                        WriteValue(builder, item, indent + 2, inSequence: true);
                    }
                    else
                    {
                        builder.Append(Scalar(item)).Append('\n');
                    }
                }

                if (!items)
                {
                    builder.Append("[]\n");
                }

                break;
            default:
                builder.Append(Scalar(element)).Append('\n');
                break;
        }
    }

    private static void WriteNested(StringBuilder builder, JsonElement value, int indent)
    {
        if (value.ValueKind is JsonValueKind.Object or JsonValueKind.Array && HasChildren(value))
        {
            builder.Append('\n');
            WriteValue(builder, value, indent + 2, inSequence: false);
        }
        else
        {
            builder.Append(' ').Append(Scalar(value)).Append('\n');
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
