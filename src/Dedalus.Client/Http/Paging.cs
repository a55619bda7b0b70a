using System.Globalization;
using System.Runtime.CompilerServices;

namespace Dedalus.Client.Http;

/// <summary>Cursor paging shared by every list call.</summary>
internal static class Paging
{
    public static string Query(string path, int? limit, string? cursor)
    {
        var query = new List<string>(2);
        if (limit is { } l)
        {
            query.Add("limit=" + l.ToString(CultureInfo.InvariantCulture));
        }

        if (!string.IsNullOrEmpty(cursor))
        {
            query.Add("cursor=" + Uri.EscapeDataString(cursor));
        }

        return query.Count == 0 ? path : path + "?" + string.Join('&', query);
    }

    public static async IAsyncEnumerable<TItem> EnumerateAsync<TPage, TItem>(
        Func<string?, CancellationToken, Task<TPage>> fetch,
        Func<TPage, (IReadOnlyList<TItem>? Items, string? NextCursor)> read,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        while (true)
        {
            var page = await fetch(cursor, cancellationToken).ConfigureAwait(false);
            var (items, next) = read(page);
            if (items is null || items.Count == 0)
            {
                yield break;
            }

            foreach (var item in items)
            {
                yield return item;
            }

            if (string.IsNullOrEmpty(next) || !seen.Add(next))
            {
                yield break;
            }

            cursor = next;
        }
    }
}
