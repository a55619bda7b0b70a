using System.Globalization;
using Dedalus.Server.Hosting;

namespace Dedalus.Server.Quotas;

/// <summary>
/// A server's quota settings: the default limits, the gateway port range (what a machines percentage is of) and the
/// storage overcommit. The server records them at start (<see cref="QuotaStartup"/>) so that <c>dedalus-server quota</c>,
/// another process, shows the limits the running server applies.
/// </summary>
public sealed record QuotaSettings(IReadOnlyDictionary<Quota, QuotaLimit> Defaults, PortRange GatewayPorts, double StorageOvercommit)
{
    private const string GatewayPortsKey = "GatewayPorts";
    private const string StorageOvercommitKey = "StorageOvercommit";

    public static QuotaSettings From(ServerOptions options) =>
        new(QuotaCatalog.All.ToDictionary(q => q.Quota, q => options.DefaultQuota(q.Quota)), options.GatewayPorts, options.StorageOvercommit);

    /// <summary>The built-in defaults (a server that has not recorded its settings yet).</summary>
    public static QuotaSettings BuiltIn => From(new ServerOptions { DataDirectory = "/" });

    /// <summary>As stored: configuration key to canonical text.</summary>
    public IReadOnlyDictionary<string, string> ToStored()
    {
        var stored = QuotaCatalog.All.ToDictionary(q => q.SettingKey, q => Defaults[q.Quota].ToString(), StringComparer.Ordinal);
        stored[GatewayPortsKey] = GatewayPorts.ToString();
        stored[StorageOvercommitKey] = StorageOvercommit.ToString(CultureInfo.InvariantCulture);
        return stored;
    }

    /// <summary>Reads what <see cref="ToStored"/> wrote; null when something is missing or not valid.</summary>
    public static QuotaSettings? FromStored(IReadOnlyDictionary<string, string> stored)
    {
        var defaults = new Dictionary<Quota, QuotaLimit>();
        foreach (var quota in QuotaCatalog.All)
        {
            if (!stored.TryGetValue(quota.SettingKey, out var text) || !QuotaLimit.TryParse(text, quota, out var limit))
            {
                return null;
            }

            defaults[quota.Quota] = limit;
        }

        return stored.TryGetValue(GatewayPortsKey, out var ports) && PortRange.TryParse(ports, out var range)
            && stored.TryGetValue(StorageOvercommitKey, out var ratioText)
            && double.TryParse(ratioText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var ratio)
            ? new QuotaSettings(defaults, range, ratio)
            : null;
    }
}
