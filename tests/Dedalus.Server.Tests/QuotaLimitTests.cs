using Dedalus.Server.Quotas;

namespace Dedalus.Server.Tests;

/// <summary>How quota limits are written, checked and resolved against the host (pure logic).</summary>
public sealed class QuotaLimitTests
{
    [Theory]
    [InlineData("machines", "5", "5")]
    [InlineData("machines", " 0 ", "0")]
    [InlineData("machines", "10%", "10%")]
    [InlineData("machines", "Unlimited", "unlimited")]
    [InlineData("vcpu", "2.5", "2.5")]
    [InlineData("vcpu", "12.5%", "12.5%")]
    [InlineData("memory_mib", "1000%", "1000%")]
    [InlineData("sessions", "1000", "1000")]
    public void A_valid_limit_parses_and_prints_in_its_canonical_form(string quota, string text, string canonical)
    {
        var info = QuotaCatalog.Find(quota)!;

        Assert.True(QuotaLimit.TryParse(text, info, out var limit));
        Assert.Equal(canonical, limit.ToString());
        Assert.True(QuotaLimit.TryParse(limit.ToString(), info, out var again));
        Assert.Equal(limit, again);
    }

    [Theory]
    [InlineData("machines", "")]
    [InlineData("machines", "-1")]
    [InlineData("machines", "1.5")]
    [InlineData("machines", "1e3")]
    [InlineData("machines", "+5")]
    [InlineData("machines", "five")]
    [InlineData("machines", "1001%")]
    [InlineData("machines", "%")]
    [InlineData("vcpu", "0.3")]
    [InlineData("memory_mib", "2000000000000")]
    [InlineData("sessions", "10%")]
    [InlineData("sessions", "none")]
    public void An_invalid_limit_is_refused(string quota, string text) =>
        Assert.False(QuotaLimit.TryParse(text, QuotaCatalog.Find(quota)!, out _));

    [Theory]
    [InlineData("10%", 1000, 1, 100)]
    [InlineData("10%", 100, 1, 10)]
    [InlineData("10%", 4, 1, 1)]
    [InlineData("0%", 1000, 1, 0)]
    [InlineData("50%", 3, 0.25, 1.5)]
    [InlineData("30%", 3, 0.25, 0.75)]
    [InlineData("1%", 2, 0.25, 0.25)]
    [InlineData("7", 1000, 1, 7)]
    public void A_percentage_resolves_rounded_down_to_the_step_and_to_at_least_one_step(string text, double host, double step, double expected)
    {
        var info = step < 1 ? QuotaCatalog.Vcpu : QuotaCatalog.Machines;
        Assert.True(QuotaLimit.TryParse(text, info, out var limit));

        Assert.Equal(expected, limit.Resolve(host, step));
    }

    [Fact]
    public void Unlimited_resolves_to_no_limit() => Assert.Null(QuotaLimit.Unlimited.Resolve(1000, 1));

    [Theory]
    [InlineData(20L << 30, 5L << 30, 1.0, 25)]
    [InlineData(10L << 30, 0, 2.5, 25)]
    [InlineData((10L << 30) - 1, 0, 1.0, 9)]
    [InlineData(100L << 30, 0, 0.5, 50)]
    public void The_storage_the_host_can_back_is_overcommit_times_free_plus_images_in_whole_gib(long available, long images, double overcommit, long backed) =>
        Assert.Equal(backed, new StorageCapacity(available, images, overcommit).BackedGib);

    [Fact]
    public void An_org_override_beats_the_default_and_an_unreadable_one_is_ignored()
    {
        var settings = QuotaSettings.BuiltIn;

        var applied = AppliedQuota.For(settings, new Dictionary<string, string> { ["machines"] = "3", ["sessions"] = "lots" });

        Assert.Equal((QuotaLimit.Of(3), true), (applied[(int)Quota.Machines].Limit, applied[(int)Quota.Machines].IsOverride));
        Assert.Equal((QuotaLimit.Of(1000), false), (applied[(int)Quota.Sessions].Limit, applied[(int)Quota.Sessions].IsOverride));
        Assert.Equal(QuotaLimit.PercentOf(10), settings.Defaults[Quota.Machines]);
    }

    [Fact]
    public void Recorded_settings_read_back_as_they_were_written()
    {
        var settings = QuotaSettings.BuiltIn with { StorageOvercommit = 1.5 };

        var read = QuotaSettings.FromStored(settings.ToStored());

        Assert.NotNull(read);
        Assert.Equal(settings.ToStored(), read.ToStored());
        Assert.Null(QuotaSettings.FromStored(new Dictionary<string, string> { ["QuotaMachines"] = "5" }));
    }
}
