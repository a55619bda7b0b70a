namespace Dedalus.Server.Quotas;

/// <summary>How a <see cref="QuotaLimit"/> is written.</summary>
public enum QuotaLimitKind
{
    /// <summary>No limit.</summary>
    Unlimited,

    /// <summary>A number in the quota's unit.</summary>
    Absolute,

    /// <summary>A percentage of a host resource, resolved when it is checked.</summary>
    Percent,
}
