using System.Diagnostics.Metrics;
using Dedalus.Gateway;
using Dedalus.Server.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Dedalus.Server.Telemetry;

/// <summary>The metrics of the server (its meters and the OpenTelemetry pipeline that <c>/metrics</c> reads).</summary>
public static class TelemetryServices
{
    /// <summary>ASP.NET Core's own meters: HTTP requests (<c>http.server.request.duration</c>, by route template and status) and Kestrel's connections.</summary>
    private static readonly string[] AspNetCoreMeters = ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>
    /// Registers the meters' owners and, unless <see cref="ServerOptions.Metrics"/> is off, OpenTelemetry metrics with
    /// its Prometheus exporter (the endpoint is mapped by <c>MetricsApi.MapMetrics</c>).
    /// </summary>
    public static IServiceCollection AddDedalusMetrics(this IServiceCollection services, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The instruments exist whether or not anything exports them (a measurement nobody listens to costs a branch).
        services.AddMetrics();
        services.AddSingleton<MachineMetrics>();
        services.AddSingleton<SessionMetrics>();
        services.AddSingleton<ReconcilerMetrics>();
        services.AddSingleton(sp => new GatewayMetrics(sp.GetRequiredService<IMeterFactory>()));
        if (!options.Metrics)
        {
            return services;
        }

        services.AddSingleton(new MetricsAccess(options.MetricsAllow));
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("dedalus-server", serviceInstanceId: options.NodeName, autoGenerateServiceInstanceId: false))
            .WithMetrics(metrics => metrics
            .AddMeter([DedalusMeters.Machines, DedalusMeters.Sessions, DedalusMeters.Reconciler, GatewayMetrics.MeterName, .. AspNetCoreMeters])
            .AddPrometheusExporter());
        services.ConfigureOpenTelemetryMeterProvider((sp, builder) =>
            {
                // Meters are process-wide: OpenTelemetry listens by name to every meter of that name, those of another
                // host in the same process too (the tests run several servers in one). This container's meters come
                // from its own factory, so keeping only instruments of that factory reports this server alone.
                var factory = sp.GetRequiredService<IMeterFactory>();
                builder.AddView(instrument => ReferenceEquals(instrument.Meter.Scope, factory) ? null : MetricStreamConfiguration.Drop);
            });
        return services;
    }
}
