using System.Diagnostics.Metrics;

namespace Dedalus.Gateway;

/// <summary>
/// The gateway's meter (<see cref="MeterName"/>): connections open (from accept to close, refused ones included while
/// they are being refused) and bytes relayed, by <c>network.io.direction</c> as the gateway sees the client:
/// <c>receive</c> from the client to the machine, <c>transmit</c> from the machine to the client. An application with
/// dependency injection passes its <see cref="IMeterFactory"/>; <c>new GatewayMetrics()</c> makes a meter of its own.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Dedalus.Gateway";

    private static readonly KeyValuePair<string, object?> Receive = new("network.io.direction", "receive");
    private static readonly KeyValuePair<string, object?> Transmit = new("network.io.direction", "transmit");

    private readonly Meter? _ownMeter;
    private readonly UpDownCounter<long> _open;
    private readonly Counter<long> _bytes;

    public GatewayMetrics(IMeterFactory? meterFactory = null)
    {
        var meter = meterFactory?.Create(MeterName) ?? (_ownMeter = new Meter(MeterName));
        _open = meter.CreateUpDownCounter<long>("dedalus.gateway.connections.open", "{connection}", "Client connections to the SSH gateway, from accept to close");
        _bytes = meter.CreateCounter<long>("dedalus.gateway.io", "By", "Bytes relayed by the SSH gateway, by network.io.direction (receive: from clients)");
    }

    internal void Opened() => _open.Add(1);

    internal void Closed() => _open.Add(-1);

    internal void Received(long bytes) => _bytes.Add(bytes, Receive);

    internal void Transmitted(long bytes) => _bytes.Add(bytes, Transmit);

    public void Dispose() => _ownMeter?.Dispose();
}
