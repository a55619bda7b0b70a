using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Dedalus.Gateway.Tests;

/// <summary>
/// The gateway's meter with real ssh through the gateway to a real sshd: the open-connections gauge follows a held
/// session up and down, and the bytes counted each way are the bytes the connection's audit record counts.
/// </summary>
public sealed class GatewayMetricsTests(SshSiteFixture fixture) : IClassFixture<SshSiteFixture>
{
    private const string Machine = "dm-77777777-7777-4777-8777-777777777777";

    [Fact]
    public async Task Open_connections_rise_and_fall_with_a_session_and_bytes_each_way_match_the_audit()
    {
        using var meters = new TestMeterFactory();
        using var recorded = new RecordedMeasurements(meters);
        using var metrics = new GatewayMetrics(meters);
        await using var harness = new GatewayHarness(fixture.Site, metrics: metrics);
        var port = await harness.AddMachineAsync(Machine);
        var held = await fixture.Site.IssueAsync("sess-metrics-held", Machine, 701);

        var ssh = await harness.StartSessionAsync(held, fixture.Site.SshArguments(held, port, "sleep", "600"));
        Assert.Equal(1, recorded.Sum("dedalus.gateway.connections.open"));

        var (cut, _) = await harness.CloseSessionAsync(held.SessionId, ssh);
        Assert.Equal(1, cut);
        Assert.True(await Eventually.TrueAsync(() => recorded.Sum("dedalus.gateway.connections.open") == 0), "the gauge never went back to 0");

        var command = await fixture.Site.IssueAsync("sess-metrics-command", Machine, 702);
        var result = await harness.SshAsync(command, port, "echo", "counted");
        Assert.True(result.ExitCode == 0, result.ToString());
        var records = new List<GatewayConnectionRecord>();
        Assert.True(await Eventually.TrueAsync(() =>
        {
            records = [.. harness.Backend.Records.Where(r => r.MachineId == Machine)];
            return records.Count == 2 && recorded.Sum("dedalus.gateway.connections.open") == 0;
        }), $"{records.Count} audit records");

        var received = recorded.Sum("dedalus.gateway.io", "receive");
        var transmitted = recorded.Sum("dedalus.gateway.io", "transmit");
        Assert.Equal(records.Sum(r => r.BytesFromClient), received);
        Assert.Equal(records.Sum(r => r.BytesToClient), transmitted);
        Assert.True(received > 1000 && transmitted > 1000, $"{received} / {transmitted}");
        Assert.Equal("By", recorded.Unit("dedalus.gateway.io"));
    }

    /// <summary>Meters scoped to this test, so the listener hears this test's gateway only.</summary>
    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly ConcurrentBag<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }

    /// <summary>Sums the long measurements of the factory's instruments by instrument and direction.</summary>
    private sealed class RecordedMeasurements : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<(string Instrument, string? Direction), long> _sums = new();
        private readonly ConcurrentDictionary<string, string?> _units = new();

        public RecordedMeasurements(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == GatewayMetrics.MeterName)
                {
                    _units[instrument.Name] = instrument.Unit;
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? direction = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == "network.io.direction")
                    {
                        direction = tag.Value as string;
                    }
                }

                _sums.AddOrUpdate((instrument.Name, direction), value, (_, sum) => sum + value);
            });
            _listener.Start();
        }

        public long Sum(string instrument, string? direction = null) => _sums.GetValueOrDefault((instrument, direction));

        public string? Unit(string instrument) => _units.GetValueOrDefault(instrument);

        public void Dispose() => _listener.Dispose();
    }
}
