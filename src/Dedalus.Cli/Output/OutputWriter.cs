using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Dedalus.Cli.Output;

/// <summary>
/// Renders API answers (as <see cref="JsonElement"/>) in the chosen format: indented JSON, YAML, a
/// human-readable view (key/value lines, tables for lists), or raw compact JSON (one line per value).
/// </summary>
internal sealed class OutputWriter(TextWriter output, OutputFormat format)
{
    // Output for people and scripts, not for HTML: '+' in timestamps and non-ASCII text stay readable.
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public OutputFormat Format { get; } = format;

    public void Write<T>(T value, JsonTypeInfo<T> typeInfo) => Write(JsonSerializer.SerializeToElement(value, typeInfo));

    public void WriteList<T>(IReadOnlyList<T> values, JsonTypeInfo<T> typeInfo)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartArray();
            foreach (var value in values)
            {
                JsonSerializer.Serialize(writer, value, typeInfo);
            }

            writer.WriteEndArray();
        }

        using var document = JsonDocument.Parse(stream.ToArray());
        Write(document.RootElement);
    }

    public void Write(JsonElement element)
    {
        switch (Format)
        {
            case OutputFormat.Raw:
                output.WriteLine(Serialize(element, Compact));
                break;
            case OutputFormat.Yaml:
                var yaml = new StringBuilder();
                YamlEmitter.Write(yaml, element);
                output.Write(yaml.ToString());
                break;
            case OutputFormat.Pretty:
                output.Write(PrettyPrinter.Render(element));
                break;
            default:
                output.WriteLine(Serialize(element, Indented));
                break;
        }

        output.Flush();
    }

    private static string Serialize(JsonElement element, JsonWriterOptions options)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, options))
        {
            element.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? string.Empty,
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null or JsonValueKind.Undefined => string.Empty,
        _ => value.GetRawText(),
    };
}
