using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Dedalus.Cli.Output;

/// <summary>
/// Renders API answers (as <see cref="JsonElement"/>) in the chosen format: indented JSON, one compact JSON value per
/// line (jsonl), YAML, a human-readable view (key/value lines, tables for lists), or raw compact JSON. <c>--transform</c>
/// picks a part of each value first (each item of a list); with <c>--raw-output</c> a string is printed without quotes,
/// and a list one item per line (strings unquoted, other values as compact JSON), as <c>jq -r '.[]'</c> does.
/// </summary>
internal sealed class OutputWriter(TextWriter output, OutputFormat format, string? transform = null, bool rawOutput = false)
{
    // Output for people and scripts, not for HTML: '+' in timestamps and non-ASCII text stay readable.
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public OutputFormat Format { get; } = format;

    /// <summary>Columns (or keys) the pretty view shows first, even when a value lacks them (a machine's <c>name</c>).</summary>
    public IReadOnlyList<string> LeadingColumns { get; init; } = [];

    public void Write<T>(T value, JsonTypeInfo<T> typeInfo) => Write(JsonSerializer.SerializeToElement(value, typeInfo));

    public void WriteList<T>(IReadOnlyList<T> values, JsonTypeInfo<T> typeInfo) =>
        WriteList([.. values.Select(v => JsonSerializer.SerializeToElement(v, typeInfo))]);

    /// <summary>One value (a command's answer, or one event of a stream).</summary>
    public void Write(JsonElement element)
    {
        var value = Transform(element);
        if (rawOutput && value.ValueKind == JsonValueKind.String)
        {
            output.WriteLine(value.GetString());
        }
        else
        {
            switch (Format)
            {
                case OutputFormat.Raw or OutputFormat.Jsonl:
                    output.WriteLine(Serialize(value, Compact));
                    break;
                case OutputFormat.Yaml:
                    var yaml = new StringBuilder();
                    YamlEmitter.Write(yaml, value);
                    output.Write(yaml.ToString());
                    break;
                case OutputFormat.Pretty:
                    output.Write(PrettyPrinter.Render(value, LeadingColumns));
                    break;
                default:
                    output.WriteLine(Serialize(value, Indented));
                    break;
            }
        }

        output.Flush();
    }

    /// <summary>A list: one array (json, raw, yaml), a table (pretty), or one line per item (jsonl, --raw-output).</summary>
    public void WriteList(IReadOnlyList<JsonElement> items)
    {
        var values = items.Select(Transform).ToList();
        if (rawOutput || Format == OutputFormat.Jsonl)
        {
            foreach (var value in values)
            {
                output.WriteLine(rawOutput && value.ValueKind == JsonValueKind.String ? value.GetString() : Serialize(value, Compact));
            }

            output.Flush();
            return;
        }

        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartArray();
            foreach (var value in values)
            {
                value.WriteTo(writer);
            }

            writer.WriteEndArray();
        }

        using var document = JsonDocument.Parse(stream.ToArray());
        new OutputWriter(output, Format) { LeadingColumns = LeadingColumns }.Write(document.RootElement);
    }

    private JsonElement Transform(JsonElement element) => transform is null ? element : JsonPath.Select(element, transform);

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
