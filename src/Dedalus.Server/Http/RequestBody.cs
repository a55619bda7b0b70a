using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Http;

/// <summary>
/// Reads request bodies strictly: size-capped, <c>application/json</c> only, unknown members and wrong
/// types rejected with a 400 that names the member.
/// </summary>
public static class RequestBody
{
    public const int MaxBytes = 64 * 1024;
    private static readonly object BufferedKey = new();

    /// <summary>The wire context with unknown members disallowed: a typo in a request is a 400.</summary>
    public static readonly DedalusJsonContext StrictContext = new(new JsonSerializerOptions(DedalusJsonContext.Default.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
    });

    /// <summary>The largest body of any request: an execution's, which may carry stdin (see <see cref="LimitOf"/>).</summary>
    public const int MaxAnyBytes = Executions.ExecutionInput.MaxRequestBytes;

    /// <summary>
    /// The body limit of a request: <see cref="MaxBytes"/>, except <c>POST /v1/machines/{id}/executions</c>, whose body
    /// may carry up to 1 MiB of stdin (<see cref="MaxAnyBytes"/>).
    /// </summary>
    public static int LimitOf(HttpRequest request) =>
        HttpMethods.IsPost(request.Method)
        && request.Path.Value is { } path
        && path.StartsWith("/v1/machines/", StringComparison.OrdinalIgnoreCase)
        && path.EndsWith("/executions", StringComparison.OrdinalIgnoreCase)
        && path.AsSpan("/v1/machines/".Length).Count('/') == 1
            ? MaxAnyBytes
            : MaxBytes;

    /// <summary>The body bytes, read once (at most <see cref="LimitOf"/>) and kept for later readers.</summary>
    public static async ValueTask<ReadOnlyMemory<byte>> ReadBytesAsync(HttpContext context)
    {
        if (context.Items.TryGetValue(BufferedKey, out var buffered) && buffered is ReadOnlyMemory<byte> bytes)
        {
            return bytes;
        }

        var limit = LimitOf(context.Request);
        if (context.Request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw TooLarge(limit);
            }

            buffer.Write(chunk, 0, read);
        }

        var result = new ReadOnlyMemory<byte>(buffer.ToArray());
        context.Items[BufferedKey] = result;
        return result;
    }

    /// <summary>Reads a required JSON object body as <typeparamref name="T"/>.</summary>
    public static async ValueTask<T> ReadJsonAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        var bytes = await ReadBytesAsync(context);
        if (bytes.IsEmpty)
        {
            throw DomainException.InvalidRequest("a JSON request body is required");
        }

        var contentType = context.Request.ContentType;
        if (contentType is null || !IsJson(contentType))
        {
            throw new BadHttpRequestException($"request body must be application/json, not '{contentType}'", StatusCodes.Status415UnsupportedMediaType);
        }

        EnsureWellFormed(bytes.Span);
        try
        {
            var value = JsonSerializer.Deserialize(bytes.Span, typeInfo);
            return value ?? throw DomainException.InvalidRequest("the request body must be a JSON object, not null");
        }
        catch (JsonException ex)
        {
            throw DomainException.InvalidRequest(Describe(ex), FieldOf(ex.Path));
        }
    }

    private static void EnsureWellFormed(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 16 });
        try
        {
            while (reader.Read())
            {
            }
        }
        catch (JsonException)
        {
            throw DomainException.InvalidRequest($"the request body is not valid JSON (at byte {reader.BytesConsumed})");
        }
    }

    private static BadHttpRequestException TooLarge(int limit) =>
        new($"request body exceeds {limit} bytes", StatusCodes.Status413PayloadTooLarge);

    private static bool IsJson(string contentType)
    {
        var mediaType = contentType.Split(';', 2)[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    private static string? FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return null;
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    private static string Describe(JsonException ex)
    {
        // System.Text.Json messages name CLR types and members; say it in wire terms instead.
        var message = ex.Message;
        var field = FieldOf(ex.Path);
        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            var start = message.IndexOf('\'', StringComparison.Ordinal);
            var end = start >= 0 ? message.IndexOf('\'', start + 1) : -1;
            var name = start >= 0 && end > start ? message[(start + 1)..end] : field ?? "?";
            return $"unknown field '{name}' in the request body";
        }

        if (ex.InnerException is not null || message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return field is null
                ? "the request body must be a JSON object"
                : $"field '{field}' has the wrong type or an invalid value";
        }

        return field is null
            ? "the request body is not valid JSON"
            : $"the request body is not valid JSON near field '{field}'";
    }
}
