using System.Globalization;
using System.Text.Json;

namespace Dedalus.Cli.Output;

/// <summary>
/// The dot paths of <c>--transform</c>, as the official CLI's: <c>machine_id</c>, <c>status.phase</c>,
/// <c>connection.host_trust.public_key</c>; a number selects an array item (<c>items.0</c>) and <c>#</c> is an array's
/// length. A path that leads nowhere gives JSON <c>null</c>.
/// </summary>
internal static class JsonPath
{
    /// <summary>Why <paramref name="path"/> is not a dot path, or <see langword="null"/> when it is one.</summary>
    public static string? Problem(string path) =>
        path.Length == 0 || path.Split('.').Any(s => s.Length == 0)
            ? "must be a dot path such as machine_id or status.phase (no empty parts)"
            : null;

    public static JsonElement Select(JsonElement element, string path)
    {
        var current = element;
        foreach (var segment in path.Split('.'))
        {
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(segment, out var property))
            {
                current = property;
            }
            else if (current.ValueKind == JsonValueKind.Array && segment == "#")
            {
                current = Number(current.GetArrayLength());
            }
            else if (current.ValueKind == JsonValueKind.Array
                && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                && index < current.GetArrayLength())
            {
                current = current[index];
            }
            else
            {
                return Null;
            }
        }

        return current;
    }

    private static readonly JsonElement Null = JsonDocument.Parse("null").RootElement.Clone();

    private static JsonElement Number(int value)
    {
        using var document = JsonDocument.Parse(value.ToString(CultureInfo.InvariantCulture));
        return document.RootElement.Clone();
    }
}
