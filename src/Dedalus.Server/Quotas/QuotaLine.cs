namespace Dedalus.Server.Quotas;

/// <summary>One quota of an org as reported: how it applies, its limit resolved on this host (null: unlimited), and the use.</summary>
public sealed record QuotaLine(AppliedQuota Quota, double? Limit, double Used);
