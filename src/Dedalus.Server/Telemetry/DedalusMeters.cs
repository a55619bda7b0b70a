namespace Dedalus.Server.Telemetry;

/// <summary>
/// The names of the server's meters, one per area (OpenTelemetry style: the instruments are <c>dedalus.*</c>, with
/// units). <c>/metrics</c> exports these, the gateway's (<see cref="Dedalus.Gateway.GatewayMetrics.MeterName"/>) and
/// ASP.NET Core's own HTTP and Kestrel meters (registered in <c>ServerServices</c>).
/// </summary>
public static class DedalusMeters
{
    public const string Machines = "Dedalus.Machines";
    public const string Sessions = "Dedalus.Sessions";
    public const string Reconciler = "Dedalus.Reconciler";

    /// <summary>
    /// Histogram buckets for operations people wait on (a create, a wake), in seconds: from a few milliseconds (the
    /// in-memory work) to the tens of seconds a first start on a fresh host can take. OpenTelemetry's own defaults are
    /// meant for milliseconds and would put every wake in the first bucket.
    /// </summary>
    public static readonly IReadOnlyList<double> WaitBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
}
