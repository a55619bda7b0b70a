using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using Dedalus.Server.Errors;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Http;

/// <summary>Cursor pagination: <c>limit</c> (default 50, at most 200) and an opaque <c>cursor</c> bound to one kind of list.</summary>
public static class PageCursor
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public static (long After, int Limit) Read(HttpRequest request, char kind)
    {
        var limit = DefaultLimit;
        var limitText = request.Query["limit"];
        if (limitText.Count > 0)
        {
            if (!int.TryParse(limitText[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1)
            {
                throw DomainException.InvalidRequest($"limit must be an integer from 1 to {MaxLimit}", "limit");
            }

            limit = Math.Min(limit, MaxLimit);
        }

        long after = 0;
        var cursor = request.Query["cursor"];
        if (cursor.Count > 0 && !string.IsNullOrEmpty(cursor[0]))
        {
            after = Decode(cursor[0]!, kind);
        }

        return (after, limit);
    }

    public static string? Encode(long? after, char kind)
    {
        if (after is not { } position)
        {
            return null;
        }

        Span<byte> bytes = stackalloc byte[9];
        bytes[0] = (byte)kind;
        BinaryPrimitives.WriteInt64BigEndian(bytes[1..], position);
        return Base64Url.EncodeToString(bytes);
    }

    private static long Decode(string cursor, char kind)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (cursor.Length != 12 || !Base64Url.IsValid(cursor) || !Base64Url.TryDecodeFromChars(cursor, bytes, out var written) || written != 9 || bytes[0] != (byte)kind)
        {
            throw DomainException.InvalidRequest("cursor is not a cursor returned by this list; start without one", "cursor");
        }

        var position = BinaryPrimitives.ReadInt64BigEndian(bytes[1..9]);
        return position >= 0 ? position : throw DomainException.InvalidRequest("cursor is not valid", "cursor");
    }
}
