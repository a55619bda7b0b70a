using Dedalus.Server.Store;

namespace Dedalus.Server.Quotas;

/// <summary>
/// At start: records the server's quota settings in the store for <c>dedalus-server quota</c>, logs the defaults as
/// they resolve on this host, and warns when the default machines quota lets one org take every gateway port.
/// </summary>
public sealed class QuotaStartup(IStore store, QuotaService quotas, IHostResources host, TimeProvider timeProvider, ILogger<QuotaStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = quotas.Settings;
        await store.SaveServerSettingsAsync(settings.ToStored(), timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);

        var storage = host.MeasureStorage();
        var described = AppliedQuota.For(settings, new Dictionary<string, string>())
            .Select(q => q.Resolve(settings, host, storage) is { } value && q.Limit.Kind == QuotaLimitKind.Percent
                ? $"{q.Info.Name} {q.Limit} ({AppliedQuota.Format(value)})"
                : $"{q.Info.Name} {q.Limit}");
        ServerLog.QuotaDefaults(logger, string.Join(", ", described), settings.StorageOvercommit);

        var machines = AppliedQuota.For(settings, new Dictionary<string, string>())[(int)Quota.Machines];
        if (machines.Resolve(settings, host, storage) is not { } limit || limit >= settings.GatewayPorts.Count)
        {
            ServerLog.MachinesQuotaCoversPorts(logger, machines.Limit.ToString(), settings.GatewayPorts.Count);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
