using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization.Metadata;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>--limit</c>, <c>--cursor</c> and <c>--max-items</c> of every list command, as the official CLI spells them, and the
/// paging they drive: from <c>--cursor</c> (else the first page) through every page, or until <c>--max-items</c> items.
/// When the list stops at <c>--max-items</c> with more to come, <c>next cursor: C</c> goes to stderr (stdout keeps only
/// the items, in every format), and <c>--cursor C</c> continues exactly there: each page asks for no more items than
/// are still wanted, so a page never ends past the last item printed.
/// </summary>
internal sealed class ListOptions
{
    public Option<int?> Limit { get; } = MachinesCommands.LimitOption();

    public Option<string?> Cursor { get; } = new("--cursor")
    {
        Description = "Start at this page cursor (as a listing cut by --max-items printed on stderr: next cursor: ...)",
    };

    public Option<long?> MaxItems { get; } = CreateMaxItems();

    public void AddTo(Command command)
    {
        command.Add(Limit);
        command.Add(Cursor);
        command.Add(MaxItems);
    }

    /// <summary>The items of the pages <paramref name="fetchPage"/> reads, and the cursor to continue from when more remain.</summary>
    public async Task<(List<T> Items, string? NextCursor)> FetchAsync<T>(
        ParseResult parseResult,
        Func<int?, string?, CancellationToken, Task<(IReadOnlyList<T>? Items, string? NextCursor)>> fetchPage,
        CancellationToken cancellationToken)
    {
        var limit = parseResult.GetValue(Limit);
        var max = parseResult.GetValue(MaxItems) is { } m and >= 0 ? m : (long?)null;
        var cursor = parseResult.GetValue(Cursor) is { Length: > 0 } c ? c : null;
        var items = new List<T>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var remaining = max - items.Count;
            if (remaining <= 0)
            {
                return (items, cursor);
            }

            var pageLimit = remaining is { } r ? (int)Math.Min(limit ?? int.MaxValue, Math.Min(r, int.MaxValue)) : limit;
            var (page, next) = await fetchPage(pageLimit, cursor, cancellationToken);
            if (page is null || page.Count == 0)
            {
                return (items, null);
            }

            if (remaining is { } left && page.Count > left)
            {
                // A server that sent more than asked: keep the wanted items, and continue from this page's start (some
                // items show again) rather than from its end (some would never show).
                items.AddRange(page.Take((int)left));
                return (items, cursor);
            }

            items.AddRange(page);
            if (string.IsNullOrEmpty(next) || !seen.Add(next))
            {
                return (items, null);
            }

            cursor = next;
        }
    }

    /// <summary>
    /// A list command's whole action: the pages <paramref name="fetchPage"/> reads (<see cref="FetchAsync"/>), printed in
    /// the chosen format, then the <c>next cursor</c> line when more remain.
    /// </summary>
    public async Task<int> PrintAsync<T>(
        GlobalOptions global,
        ParseResult parseResult,
        Func<int?, string?, CancellationToken, Task<(IReadOnlyList<T>? Items, string? NextCursor)>> fetchPage,
        JsonTypeInfo<T> typeInfo,
        CancellationToken cancellationToken,
        IReadOnlyList<string>? leadingColumns = null)
    {
        var (items, next) = await FetchAsync(parseResult, fetchPage, cancellationToken);
        global.PrintList(parseResult, items, typeInfo, leadingColumns);
        ReportNextCursor(next);
        return ExitCodes.Ok;
    }

    /// <summary>The <c>next cursor: C</c> line on stderr, when the listing stopped with more to come.</summary>
    public static void ReportNextCursor(string? nextCursor)
    {
        if (nextCursor is not null)
        {
            Console.Error.WriteLine("next cursor: " + nextCursor);
        }
    }

    private static Option<long?> CreateMaxItems()
    {
        var option = new Option<long?>("--max-items")
        {
            Description = "Stop after this many items, across pages (-1: all, the default)",
            HelpName = "count",
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens is [.., var last] && long.TryParse(last.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value < -1)
            {
                result.AddError("--max-items must be 0 or more, or -1 for all");
            }
        });
        return option;
    }
}
