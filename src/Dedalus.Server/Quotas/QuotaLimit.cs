using System.Globalization;

namespace Dedalus.Server.Quotas;

/// <summary>
/// A quota's limit as the operator writes it: a number in the quota's unit (<c>5</c>, <c>2.5</c>), a percentage of a
/// host resource (<c>10%</c>, resolved each time it is checked), or <c>unlimited</c>. <see cref="ToString"/> is the
/// canonical text, stored and parsed back.
/// </summary>
public readonly record struct QuotaLimit(QuotaLimitKind Kind, double Value)
{
    /// <summary>The largest number a limit may be.</summary>
    public const double MaxValue = 1e12;

    /// <summary>The largest percentage a limit may be (over 100% overcommits the host resource).</summary>
    public const double MaxPercent = 1000;

    public static QuotaLimit Unlimited => new(QuotaLimitKind.Unlimited, 0);

    public static QuotaLimit Of(double value) => new(QuotaLimitKind.Absolute, value);

    public static QuotaLimit PercentOf(double percent) => new(QuotaLimitKind.Percent, percent);

    /// <summary>Parses <paramref name="text"/> for <paramref name="info"/>'s quota; false when it is not one of the forms it takes.</summary>
    public static bool TryParse(string? text, QuotaInfo info, out QuotaLimit limit)
    {
        limit = Unlimited;
        var trimmed = text?.Trim() ?? string.Empty;
        if (trimmed.Equals("unlimited", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (trimmed.EndsWith('%'))
        {
            if (info.PercentOf is null || !TryNumber(trimmed[..^1], out var percent) || percent > MaxPercent)
            {
                return false;
            }

            limit = PercentOf(percent);
            return true;
        }

        if (!TryNumber(trimmed, out var value) || value > MaxValue || Math.Abs((value / info.Step) - Math.Round(value / info.Step)) > 1e-9)
        {
            return false;
        }

        limit = Of(value);
        return true;
    }

    /// <summary>
    /// The limit in the quota's unit given the host's amount of the resource a percentage refers to; null when unlimited.
    /// A percentage is rounded down to the quota's step, and is at least one step unless it is 0%.
    /// </summary>
    public double? Resolve(double hostAmount, double step) => Kind switch
    {
        QuotaLimitKind.Unlimited => null,
        QuotaLimitKind.Absolute => Value,
        _ => Value == 0 ? 0 : Math.Max(step, Math.Floor(Value / 100 * hostAmount / step) * step),
    };

    public override string ToString() => Kind switch
    {
        QuotaLimitKind.Unlimited => "unlimited",
        QuotaLimitKind.Percent => Value.ToString(CultureInfo.InvariantCulture) + "%",
        _ => Value.ToString(CultureInfo.InvariantCulture),
    };

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value) && text.Length > 0 && char.IsAsciiDigit(text[0]);
}
