using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Dedalus.Server.Machines;

/// <summary>
/// The <c>autosleep</c> grammar: fixed-unit durations (<c>30s</c>, <c>15m</c>, <c>2h</c>, <c>7d3h4s</c>,
/// <c>1w3d</c>; units s, m, h, d, w, each at most once, largest first), raw seconds as a string
/// (<c>"1800"</c>), or <c>never</c> (0 = disabled).
/// </summary>
public static class Autosleep
{
    public const long DefaultSeconds = 300;
    public const long MaxSeconds = 9_223_372_036;

    public static bool TryParse(string? text, out long seconds, [NotNullWhen(false)] out string? error)
    {
        seconds = 0;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "autosleep must not be empty";
            return false;
        }

        var value = text.Trim().ToLowerInvariant();
        if (value is "never" or "off")
        {
            return true;
        }

        if (value.All(char.IsAsciiDigit))
        {
            if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) || seconds > MaxSeconds)
            {
                error = $"autosleep '{text}' is out of range (at most {MaxSeconds} seconds)";
                return false;
            }

            return true;
        }

        const string units = "wdhms";
        var lastUnit = -1;
        long total = 0;
        var i = 0;
        while (i < value.Length)
        {
            var start = i;
            while (i < value.Length && char.IsAsciiDigit(value[i]))
            {
                i++;
            }

            var unit = i < value.Length ? units.IndexOf(value[i], StringComparison.Ordinal) : -1;
            if (i == start || unit < 0 || unit <= lastUnit
                || !long.TryParse(value.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
            {
                error = $"autosleep '{text}' is not a duration: use forms like 30s, 15m, 2h, 1w3d, a number of seconds, or never";
                return false;
            }

            long factor = unit switch { 0 => 604800, 1 => 86400, 2 => 3600, 3 => 60, _ => 1 };
            if (amount > MaxSeconds / factor || total + (amount * factor) > MaxSeconds)
            {
                error = $"autosleep '{text}' is out of range (at most {MaxSeconds} seconds)";
                return false;
            }

            total += amount * factor;
            lastUnit = unit;
            i++;
        }

        seconds = total;
        return true;
    }
}
