using System.Buffers;
using System.Text.Json;

namespace Dedalus.Server.Console.Terminal;

/// <summary>
/// The terminal protocol's text frames (one JSON object each): <c>status</c>, <c>ready</c> and <c>closed</c> from the
/// server, <c>resize</c> from the browser. Written and read with the UTF-8 JSON writer and reader: a handful of fields
/// does not need a serializer context.
/// </summary>
public static class TerminalFrames
{
    /// <summary><c>{"type":"status","text":...}</c>: progress while the session waits.</summary>
    public static byte[] Status(string text) => Write(writer =>
    {
        writer.WriteString("type", "status");
        writer.WriteString("text", text);
    });

    /// <summary><c>{"type":"ready","session_id":...}</c>: the ssh connection is up.</summary>
    public static byte[] Ready(string sessionId) => Write(writer =>
    {
        writer.WriteString("type", "ready");
        writer.WriteString("session_id", sessionId);
    });

    /// <summary><c>{"type":"closed","reason":...,"code":...}</c>: sent once, just before the server closes.</summary>
    public static byte[] Closed(TerminalEnd end) => Write(writer =>
    {
        writer.WriteString("type", "closed");
        writer.WriteString("reason", end.Reason);
        writer.WriteString("code", end.Code);
    });

    /// <summary>
    /// Reads a browser control frame: <c>{"type":"resize","cols":N,"rows":M}</c> with both in 1..1000 gives the size;
    /// anything else (bad JSON, another type, a size out of range) gives false and the reason, for a debug line.
    /// </summary>
    public static bool TryReadResize(ReadOnlySpan<byte> json, out int columns, out int rows, out string problem)
    {
        columns = rows = 0;
        string? type = null;
        int? cols = null, rowCount = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 4 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "not a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "type" when reader.TokenType == JsonTokenType.String:
                        type = reader.GetString();
                        break;
                    case "cols" when reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var c):
                        cols = c;
                        break;
                    case "rows" when reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var r):
                        rowCount = r;
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }
        catch (JsonException)
        {
            problem = "not valid JSON";
            return false;
        }

        if (type != "resize")
        {
            problem = type is null ? "no type" : "unknown type";
            return false;
        }

        if (cols is not { } x || rowCount is not { } y || !TerminalLimits.IsSize(x) || !TerminalLimits.IsSize(y))
        {
            problem = $"cols and rows must be integers {TerminalLimits.MinSize}-{TerminalLimits.MaxSize}";
            return false;
        }

        (columns, rows, problem) = (x, y, string.Empty);
        return true;
    }

    private static byte[] Write(Action<Utf8JsonWriter> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            fields(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
