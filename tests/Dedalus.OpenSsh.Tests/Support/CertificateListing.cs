using System.Globalization;

namespace Dedalus.OpenSsh.Tests.Support;

/// <summary>The fields of a certificate as <c>ssh-keygen -L</c> prints them (TZ=UTC).</summary>
internal sealed record CertificateListing(
    string Type,
    string PublicKey,
    string SigningCa,
    string KeyId,
    ulong Serial,
    string Valid,
    IReadOnlyList<string> Principals,
    IReadOnlyList<string> CriticalOptions,
    IReadOnlyList<string> Extensions)
{
    public static CertificateListing Parse(string output)
    {
        var fields = new Dictionary<string, string>();
        var lists = new Dictionary<string, List<string>>();
        List<string>? current = null;
        foreach (var raw in output.Split('\n').Skip(1))
        {
            if (raw.Trim().Length == 0)
            {
                continue;
            }

            var indent = raw.Length - raw.TrimStart().Length;
            var line = raw.Trim();
            if (indent > 8 && current is not null)
            {
                current.Add(line);
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim();
            fields[name] = value;
            current = lists[name] = [];
            if (value.Length > 0 && value != "(none)")
            {
                current.Add(value);
            }
        }

        return new CertificateListing(
            fields["Type"],
            fields["Public key"],
            fields["Signing CA"],
            fields["Key ID"].Trim('"'),
            ulong.Parse(fields["Serial"], CultureInfo.InvariantCulture),
            fields["Valid"],
            lists["Principals"],
            lists["Critical Options"],
            lists["Extensions"]);
    }

    /// <summary>The "Valid:" text ssh-keygen prints for a window (UTC).</summary>
    public static string FormatValidity(DateTimeOffset after, DateTimeOffset before)
    {
        static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var forever = before == DateTimeOffset.MaxValue;
        var always = after.ToUnixTimeSeconds() <= 0;
        return (always, forever) switch
        {
            (true, true) => "forever",
            (true, false) => "before " + Format(before),
            (false, true) => "after " + Format(after),
            _ => "from " + Format(after) + " to " + Format(before),
        };
    }
}
