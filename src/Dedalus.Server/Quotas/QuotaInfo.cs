namespace Dedalus.Server.Quotas;

/// <summary>One quota's names and rules: how it is written in the API's details, in configuration and in the admin command.</summary>
/// <param name="Quota">The quota.</param>
/// <param name="Name">Its name in error details, the store and <c>quota show</c> (<c>memory_mib</c>).</param>
/// <param name="SettingKey">The configuration key of the server's default (<c>QuotaMemoryMib</c>).</param>
/// <param name="Step">The smallest unit: 1, or 0.25 for vcpu.</param>
/// <param name="PercentOf">What a percentage is a share of; null when the quota takes no percentage.</param>
/// <param name="Default">The built-in default.</param>
/// <param name="Remedy">What the caller can do when the quota refuses, after "destroy", for the message.</param>
public sealed record QuotaInfo(Quota Quota, string Name, string SettingKey, double Step, HostResource? PercentOf, QuotaLimit Default, string Remedy)
{
    /// <summary>The admin command's option (<c>--memory-mib</c>).</summary>
    public string Option => "--" + Name.Replace('_', '-');

    /// <summary>The server's option of the default (<c>--quota-memory-mib</c>).</summary>
    public string Flag => "--quota-" + Name.Replace('_', '-');

    /// <summary>The environment variable of the default (<c>DEDALUS_QUOTA_MEMORY_MIB</c>).</summary>
    public string Environment => "DEDALUS_QUOTA_" + Name.ToUpperInvariant();

    /// <summary>What a value must look like, for error messages.</summary>
    public string Expected
    {
        get
        {
            var number = Step < 1 ? "a multiple of 0.25 (0 or more)" : "a whole number (0 or more)";
            return PercentOf is { } resource
                ? $"{number}, a percentage of {QuotaCatalog.Describe(resource)} such as 25%, or unlimited"
                : $"{number} or unlimited";
        }
    }
}
