using System.CommandLine;
using System.Text;
using Dedalus.Machines.Runc;
using Dedalus.Server.Quotas;
using Dedalus.Server.Store;

namespace Dedalus.Server.Hosting;

/// <summary>
/// <c>dedalus-server quota set|reset|show|list</c>: per-org quota overrides in a server's database, and the limits and
/// use they give. The server may be running: it reads an org's overrides at each check, so a change applies to the
/// next request. Limits that are percentages are resolved with the settings the server recorded at its last start.
/// </summary>
public static class QuotaCommand
{
    private const string ValueHelp = "N|P%|unlimited";

    public static Command Create(TextWriter error)
    {
        var quota = new Command(
            "quota",
            "Per-org quotas on machines, vcpu, memory_mib, storage_gib, live SSH sessions and live executions: set, reset, show, list " +
            "(the server may be running: a change applies to its next request)")
        {
            Set(error),
            Reset(error),
            Show(error),
            List(error),
        };
        return quota;
    }

    private static Command Set(TextWriter error)
    {
        var (dataDirectory, database, org) = (DataDirectoryOption(), StoreFactory.DatabaseOption(), OrgOption());
        var values = QuotaCatalog.All.ToDictionary(
            q => q,
            q => new Option<string?>(q.Option) { Description = $"Limit on {q.Name}: {q.Expected}", HelpName = q.PercentOf is null ? "N|unlimited" : ValueHelp });
        var set = new Command("set", "Set an org's own limits (the others keep theirs) and print its quotas") { dataDirectory, database, org };
        foreach (var option in values.Values)
        {
            set.Add(option);
        }

        set.SetAction(async (parseResult, cancellationToken) =>
        {
            var changes = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var (info, option) in values)
            {
                if (parseResult.GetValue(option) is not { } text)
                {
                    continue;
                }

                if (!QuotaLimit.TryParse(text, info, out var limit))
                {
                    return ServerCommand.Usage(error, $"{info.Option} must be {info.Expected}, not '{Shorten(text)}'", "quota set");
                }

                changes[info.Name] = limit.ToString();
            }

            if (changes.Count == 0)
            {
                return ServerCommand.Usage(error, $"nothing to set: give one or more of {string.Join(", ", QuotaCatalog.All.Select(q => q.Option))}", "quota set");
            }

            return await WithOrgAsync(parseResult, dataDirectory, database, org, error, "quota set", async (store, directory, found, output) =>
            {
                await store.SetQuotaOverridesAsync(found.Id, changes, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
                await PrintAsync(store, directory, found, output, error, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        });
        return set;
    }

    private static Command Reset(TextWriter error)
    {
        var (dataDirectory, database, org) = (DataDirectoryOption(), StoreFactory.DatabaseOption(), OrgOption());
        var switches = QuotaCatalog.All.ToDictionary(q => q, q => new Option<bool>(q.Option) { Description = $"Reset {q.Name} to the server's default" });
        var reset = new Command("reset", "Give an org the server's default for the quotas named (all when none is), and print its quotas") { dataDirectory, database, org };
        foreach (var option in switches.Values)
        {
            reset.Add(option);
        }

        reset.SetAction((parseResult, cancellationToken) =>
        {
            var named = switches.Where(s => parseResult.GetValue(s.Value)).Select(s => s.Key).ToList();
            var changes = (named.Count == 0 ? QuotaCatalog.All : named).ToDictionary(q => q.Name, _ => (string?)null, StringComparer.Ordinal);
            return WithOrgAsync(parseResult, dataDirectory, database, org, error, "quota reset", async (store, directory, found, output) =>
            {
                await store.SetQuotaOverridesAsync(found.Id, changes, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
                await PrintAsync(store, directory, found, output, error, cancellationToken).ConfigureAwait(false);
            }, cancellationToken);
        });
        return reset;
    }

    private static Command Show(TextWriter error)
    {
        var (dataDirectory, database, org) = (DataDirectoryOption(), StoreFactory.DatabaseOption(), OrgOption());
        var show = new Command("show", "Print an org's limits (its own or the server's defaults), its use, and the host's storage") { dataDirectory, database, org };
        show.SetAction((parseResult, cancellationToken) => WithOrgAsync(
            parseResult, dataDirectory, database, org, error, "quota show", (store, directory, found, output) => PrintAsync(store, directory, found, output, error, cancellationToken), cancellationToken));
        return show;
    }

    private static Command List(TextWriter error)
    {
        var (dataDirectory, database) = (DataDirectoryOption(), StoreFactory.DatabaseOption());
        var list = new Command("list", "Print the server's default limits and every org's use and limits (* marks an org's own limit)") { dataDirectory, database };
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var (opened, exitCode) = await OpenAsync(parseResult, dataDirectory, database, error, "quota list", cancellationToken).ConfigureAwait(false);
            if (opened is not { } found)
            {
                return exitCode;
            }

            await using var closing = found.Store;
            var store = found.Store.Store;
            var output = parseResult.InvocationConfiguration.Output;
            var (settings, host, storage) = await HostAsync(store, found.Directory, error, cancellationToken).ConfigureAwait(false);
            var defaults = AppliedQuota.For(settings, new Dictionary<string, string>()).Select(q => $"{q.Info.Name} {Describe(q, q.Resolve(settings, host, storage))}");
            await output.WriteLineAsync("defaults: " + string.Join(", ", defaults)).ConfigureAwait(false);

            List<string[]> rows = [["ORG", .. QuotaCatalog.All.Select(q => q.Name.ToUpperInvariant())]];
            foreach (var org in await store.ListOrgsAsync(cancellationToken).ConfigureAwait(false))
            {
                var report = await OrgQuotaReport.ReadAsync(store, settings, host, storage, org, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
                rows.Add([org.Name, .. report.Lines.Select(l => $"{AppliedQuota.Format(l.Used)}/{Limit(l.Limit)}{(l.Quota.IsOverride ? "*" : "")}")]);
            }

            await output.WriteAsync(Table(rows)).ConfigureAwait(false);
            return ServerCommand.ExitOk;
        });
        return list;
    }

    /// <summary>Prints one org's quotas: limit, use, where the limit comes from; then the host's storage.</summary>
    private static async Task PrintAsync(IStore store, string directory, OrgRecord org, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var (settings, host, storage) = await HostAsync(store, directory, error, cancellationToken).ConfigureAwait(false);
        var report = await OrgQuotaReport.ReadAsync(store, settings, host, storage, org, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
        List<string[]> rows = [["QUOTA", "LIMIT", "USED", "SOURCE"]];
        foreach (var line in report.Lines)
        {
            var source = (line.Quota.IsOverride ? "org: " : "default: ") + line.Quota.Limit + Basis(line.Quota, settings, host, storage);
            rows.Add([line.Quota.Info.Name, Limit(line.Limit), AppliedQuota.Format(line.Used), source]);
        }

        // This host's node: the one of the data directory (every node's machines when it has never run a server).
        var nodeId = Cluster.LocalNode.TryLoad(directory)?.Id;
        var committed = await store.ReadResourcesAsync(
            reader => nodeId is null ? reader.NodeLoads().Sum(l => l.StorageGib) : reader.CommittedStorageGib(nodeId), cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"org {org.Name} ({org.Id})").ConfigureAwait(false);
        await output.WriteAsync(Table(rows)).ConfigureAwait(false);
        await output.WriteLineAsync(
            $"host storage: {committed} GiB committed to machines of every org, of {storage.BackedGib} GiB the host can back ({storage.Explain()})").ConfigureAwait(false);
    }

    /// <summary>The settings the server recorded (else the built-in ones, said on stderr) and this host's resources, measured now.</summary>
    private static async Task<(QuotaSettings Settings, IHostResources Host, StorageCapacity Storage)> HostAsync(
        IStore store, string dataDirectory, TextWriter error, CancellationToken cancellationToken)
    {
        var settings = QuotaSettings.FromStored(await store.GetServerSettingsAsync(cancellationToken).ConfigureAwait(false));
        if (settings is null)
        {
            await error.WriteLineAsync("dedalus-server: no server has recorded its quota settings here yet: showing the built-in defaults").ConfigureAwait(false);
            settings = QuotaSettings.BuiltIn;
        }

        var runtime = new RuncRuntimeOptions { DataDirectory = ServerConfiguration.RuntimeDirectory(new ServerOptions { DataDirectory = dataDirectory }) };
        var host = new HostResources(dataDirectory, settings.StorageOvercommit, () => RuncMachineRuntime.HomeImageBytes(runtime));
        return (settings, host, host.MeasureStorage());
    }

    /// <summary>What a percentage is of, on this host: " of 1000 gateway ports".</summary>
    private static string Basis(AppliedQuota quota, QuotaSettings settings, IHostResources host, StorageCapacity storage) =>
        quota.Limit.Kind != QuotaLimitKind.Percent ? string.Empty : quota.Info.PercentOf switch
        {
            HostResource.GatewayPorts => $" of {settings.GatewayPorts.Count} gateway ports",
            HostResource.Cpus => $" of {AppliedQuota.Format(host.Cpus)} CPUs",
            HostResource.MemoryMib => $" of {host.MemoryMib} MiB of memory",
            HostResource.StorageGib => $" of {storage.BackedGib} GiB the host can back",
            _ => string.Empty,
        };

    private static string Describe(AppliedQuota quota, double? resolved) =>
        quota.Limit.Kind == QuotaLimitKind.Percent ? $"{quota.Limit} ({Limit(resolved)})" : quota.Limit.ToString();

    private static string Limit(double? limit) => limit is { } value ? AppliedQuota.Format(value) : "unlimited";

    private static string Table(List<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            text.AppendLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        }

        return text.ToString();
    }

    private static Option<string?> DataDirectoryOption() => new("--data-dir")
    {
        Description = "The server's data directory (env DEDALUS_DATA_DIR) [default: " + ServerConfiguration.DefaultDataDirectory() + "]",
        HelpName = "DIR",
    };

    private static Option<string> OrgOption() => new("--org") { Description = "The org's name (as given to `dedalus-server apikey create`)", HelpName = "NAME", Required = true };

    /// <summary>
    /// Opens the store <c>--database</c> names, else the one of the data directory given (the data directory still
    /// decides the host's storage figures), or says on stderr why it cannot, with the exit code.
    /// </summary>
    private static async Task<((StoreFactory.OwnedStore Store, string Directory)? Opened, int ExitCode)> OpenAsync(
        ParseResult parseResult, Option<string?> dataDirectory, Option<string?> database, TextWriter error, string subcommand, CancellationToken cancellationToken)
    {
        var directory = Path.GetFullPath(parseResult.GetValue(dataDirectory)
            ?? (Environment.GetEnvironmentVariable("DEDALUS_DATA_DIR") is { Length: > 0 } fromEnvironment ? fromEnvironment : ServerConfiguration.DefaultDataDirectory()));
        var (store, exitCode) = await StoreFactory.OpenForCommandAsync(parseResult.GetValue(database), directory, error, subcommand, cancellationToken).ConfigureAwait(false);
        return store is null ? (null, exitCode) : ((new StoreFactory.OwnedStore(store), directory), ServerCommand.ExitOk);
    }

    /// <summary>Opens the store, finds the org named by <c>--org</c> and runs <paramref name="work"/>; exit 2 when there is no such org.</summary>
    private static async Task<int> WithOrgAsync(
        ParseResult parseResult, Option<string?> dataDirectory, Option<string?> database, Option<string> org, TextWriter error, string subcommand,
        Func<IStore, string, OrgRecord, TextWriter, Task> work, CancellationToken cancellationToken)
    {
        var name = parseResult.GetValue(org)!.Trim();
        var (result, exitCode) = await OpenAsync(parseResult, dataDirectory, database, error, subcommand, cancellationToken).ConfigureAwait(false);
        if (result is not { } opened)
        {
            return exitCode;
        }

        await using var closing = opened.Store;
        var store = opened.Store.Store;
        if (await store.FindOrgAsync(name, cancellationToken).ConfigureAwait(false) is not { } found)
        {
            return ServerCommand.Usage(error, $"no org named '{Shorten(name)}' in {(parseResult.GetValue(database) is null ? opened.Directory : "the database")} (orgs are created by `dedalus-server apikey create --org NAME`)", subcommand);
        }

        await work(store, opened.Directory, found, parseResult.InvocationConfiguration.Output).ConfigureAwait(false);
        return ServerCommand.ExitOk;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
