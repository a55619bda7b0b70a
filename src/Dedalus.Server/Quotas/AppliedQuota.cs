using System.Globalization;

namespace Dedalus.Server.Quotas;

/// <summary>One quota as it applies to an org: the org's override, else the server's default.</summary>
/// <param name="Info">The quota.</param>
/// <param name="Limit">The limit as written.</param>
/// <param name="IsOverride">Whether the org has its own limit.</param>
public sealed record AppliedQuota(QuotaInfo Info, QuotaLimit Limit, bool IsOverride)
{
    /// <summary>
    /// The limits of every quota for an org with <paramref name="overrides"/> (quota name to limit text, as stored).
    /// An override that does not parse (written by hand into the database) is ignored: the default applies.
    /// </summary>
    public static IReadOnlyList<AppliedQuota> For(QuotaSettings settings, IReadOnlyDictionary<string, string> overrides) =>
        [.. QuotaCatalog.All.Select(q => overrides.TryGetValue(q.Name, out var text) && QuotaLimit.TryParse(text, q, out var limit)
            ? new AppliedQuota(q, limit, true)
            : new AppliedQuota(q, settings.Defaults[q.Quota], false))];

    /// <summary>
    /// The limit in the quota's unit, null when unlimited. A percentage of storage needs <paramref name="storage"/>, the
    /// capacity measured for this check.
    /// </summary>
    public double? Resolve(QuotaSettings settings, IHostResources host, StorageCapacity? storage)
    {
        if (Limit.Kind != QuotaLimitKind.Percent || Info.PercentOf is not { } resource)
        {
            return Limit.Resolve(0, Info.Step);
        }

        double amount = resource switch
        {
            HostResource.GatewayPorts => settings.GatewayPorts.Count,
            HostResource.Cpus => host.Cpus,
            HostResource.MemoryMib => host.MemoryMib,
            _ => (storage ?? throw new InvalidOperationException("a storage percentage needs a measured capacity")).BackedGib,
        };
        return Limit.Resolve(amount, Info.Step);
    }

    /// <summary>A value in the quota's unit as text: <c>1.5</c>, <c>100</c>.</summary>
    public static string Format(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
