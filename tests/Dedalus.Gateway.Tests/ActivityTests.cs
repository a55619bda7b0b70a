using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Gateway.Tests;

/// <summary>An open connection is reported as activity: on open, periodically, on close.</summary>
public sealed class ActivityTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string Machine = "dm-12121212-1212-4121-8121-121212121212";

    [Fact]
    public async Task An_open_connection_reports_activity_on_open_every_interval_and_on_close()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
        // The fake clock runs the grace period too: long enough for the minutes this test advances it.
        var options = new GatewayOptions { ActivityReportInterval = TimeSpan.FromSeconds(30), AuthenticationTimeout = TimeSpan.FromHours(1) };
        await using var harness = new GatewayHarness(fixture.Site, options, clock);
        var port = await harness.AddMachineAsync(Machine);

        var (socket, _) = await GatewayHarness.ConnectPastBannerAsync(port);
        Assert.True(await Eventually.TrueAsync(() => harness.Backend.ActivityReports(Machine) == 1), $"reports: {harness.Backend.ActivityReports(Machine)}");
        clock.Advance(TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(30));
        var whileOpen = harness.Backend.ActivityReports(Machine);
        socket.Dispose();
        var record = await harness.Backend.WaitForRecordAsync(r => r.MachineId == Machine);
        var afterClose = harness.Backend.ActivityReports(Machine);
        clock.Advance(TimeSpan.FromSeconds(60));

        Assert.Equal(3, whileOpen);
        Assert.Equal(4, afterClose);
        Assert.Equal(0, harness.Gateway.GetOpenConnectionCount(Machine));
        Assert.Equal(4, harness.Backend.ActivityReports(Machine));
        Assert.Equal(clock.GetUtcNow() - TimeSpan.FromSeconds(60), record.EndedAt);
        Assert.Equal(TimeSpan.FromSeconds(60), record.Duration);
    }
}
