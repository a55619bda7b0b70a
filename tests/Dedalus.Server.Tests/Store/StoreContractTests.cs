using Dedalus.Contracts;
using Dedalus.Server.Executions;
using Dedalus.Server.Sessions;
using Dedalus.Server.Store;

namespace Dedalus.Server.Tests.Store;

/// <summary>
/// What every <see cref="IStore"/> must do, as its doc comments say and the server relies on: the same tests run against
/// each implementation (<see cref="SqliteStoreContractTests"/>, <see cref="PostgresStoreContractTests"/>), each on a fresh
/// database. Times are fixed (whole milliseconds, what every store keeps) and passed in: nothing depends on the clock.
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    /// <summary>A fixed "now" of the tests.</summary>
    protected static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_780_000_000_000);

    private const int PortLow = 2100;
    private const int PortHigh = 2199;

    protected IStore Store { get; private set; } = null!;

    /// <summary>Opens the implementation under test on a new, empty database.</summary>
    protected abstract Task<IStore> OpenStoreAsync();

    public async Task InitializeAsync() => Store = await OpenStoreAsync();

    public virtual async Task DisposeAsync()
    {
        if (Store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    // Orgs and API keys.

    [Fact]
    public async Task An_org_is_created_once_per_name_and_found_by_name_in_the_name_ordered_list()
    {
        var acme = await Store.EnsureOrgAsync("acme", T0);
        var again = await Store.EnsureOrgAsync("acme", T0 + TimeSpan.FromMinutes(1));
        var globex = await Store.EnsureOrgAsync("globex", T0);

        Assert.Equal(acme, again);
        Assert.NotEqual(acme, globex);
        Assert.StartsWith("org-", acme, StringComparison.Ordinal);
        Assert.Equal(new OrgRecord(acme, "acme"), await Store.FindOrgAsync("acme"));
        Assert.Null(await Store.FindOrgAsync("initech"));
        await Store.EnsureOrgAsync("aardvark", T0);
        Assert.Equal(["aardvark", "acme", "globex"], (await Store.ListOrgsAsync()).Select(o => o.Name));
    }

    [Fact]
    public async Task An_api_key_hash_finds_its_org_and_an_unknown_hash_finds_none()
    {
        var org = await OrgAsync();
        var hash = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();

        await Store.AddApiKeyAsync(hash, "dk_live_abcd", org, T0);

        Assert.Equal(org, await Store.FindOrgByApiKeyHashAsync(hash));
        Assert.Null(await Store.FindOrgByApiKeyHashAsync(new byte[32]));
    }

    [Fact]
    public async Task The_org_autoresize_policy_is_off_by_default_and_lists_the_orgs_that_turned_it_on()
    {
        var acme = await OrgAsync("acme");
        var globex = await OrgAsync("globex");

        Assert.False(await Store.GetOrgAutoresizeAsync(acme));
        await Store.SetOrgAutoresizeAsync(acme, true);
        await Store.SetOrgAutoresizeAsync(globex, true);
        await Store.SetOrgAutoresizeAsync(globex, false);

        Assert.True(await Store.GetOrgAutoresizeAsync(acme));
        Assert.False(await Store.GetOrgAutoresizeAsync(globex));
        Assert.Equal([acme], await Store.ListAutoresizeOrgsAsync());
    }

    // Server settings.

    [Fact]
    public async Task Saving_server_settings_replaces_the_recorded_ones()
    {
        Assert.Empty(await Store.GetServerSettingsAsync());
        await Store.SaveServerSettingsAsync(new Dictionary<string, string> { ["Dedalus:QuotaMachines"] = "10", ["Dedalus:GatewayPorts"] = "22000-22999" }, T0);
        await Store.SaveServerSettingsAsync(new Dictionary<string, string> { ["Dedalus:QuotaMachines"] = "20" }, T0 + TimeSpan.FromSeconds(1));

        var settings = await Store.GetServerSettingsAsync();

        Assert.Equal(new Dictionary<string, string> { ["Dedalus:QuotaMachines"] = "20" }, settings);
    }

    [Fact]
    public async Task Servers_saving_their_settings_at_once_leave_one_of_them_whole()
    {
        // Nodes that start together each record theirs: none may fail, and what stays is one node's set, not a mix.
        var saves = Enumerable.Range(0, 12).Select(i => Task.Run(() => Store.SaveServerSettingsAsync(
            new Dictionary<string, string> { ["Dedalus:QuotaMachines"] = $"{i}", ["Dedalus:GatewayPorts"] = $"{22000 + i}-22999" }, T0)));

        await Task.WhenAll(saves);

        var settings = await Store.GetServerSettingsAsync();
        var which = settings["Dedalus:QuotaMachines"];
        Assert.Equal($"{22000 + int.Parse(which, System.Globalization.CultureInfo.InvariantCulture)}-22999", settings["Dedalus:GatewayPorts"]);
    }

    // Helpers.

    protected Task<string> OrgAsync(string name = "acme") => Store.EnsureOrgAsync(name, T0);

    /// <summary>A machine row as the API creates it (accepted, wants to run), every optional field set unless told.</summary>
    protected static MachineRecord NewMachine(string orgId, string? name = null, DateTimeOffset? at = null) => new()
    {
        Id = MachineIds.Format(Guid.NewGuid()),
        OrgId = orgId,
        Vcpu = 1.5,
        MemoryMib = 2048,
        StorageGib = 10,
        AutosleepSeconds = 300,
        DesiredState = DesiredStates.Running,
        Phase = MachinePhases.Accepted,
        Reason = "create_requested",
        Revision = 1,
        CreatedAt = at ?? T0,
        LastTransitionAt = at ?? T0,
        LastProgressAt = at ?? T0,
        LastActivityAt = at ?? T0,
        Name = name,
    };

    /// <summary>The node the suite's machines are placed on (another, <see cref="NodeB"/>, where a test needs two).</summary>
    protected const string NodeA = "node-0190a000-0000-7000-8000-00000000000a";

    protected const string NodeB = "node-0190a000-0000-7000-8000-00000000000b";

    /// <summary>Placement on <paramref name="node"/> with the port range given.</summary>
    protected static Func<IResourceReader, MachinePlacement> Place(int low, int high, string node = NodeA) => _ => new MachinePlacement(node, low, high);

    /// <summary>The event payload the server stores: the machine's JSON (a stand-in with its id and revision).</summary>
    protected static string Payload(MachineRecord machine) =>
        $$"""{"machine_id":"{{machine.Id}}","revision":{{machine.Revision}},"phase":"{{machine.Phase}}"}""";

    protected async Task<MachineRecord> InsertAsync(MachineRecord machine, int portLow = PortLow, int portHigh = PortHigh) =>
        await Store.InsertMachineAsync(machine, Place(portLow, portHigh), Payload) ?? throw new InvalidOperationException("the port range is exhausted");

    /// <summary>Writes <paramref name="change"/> of the stored machine at its next revision; asserts the write was taken.</summary>
    protected async Task<MachineRecord> UpdateAsync(MachineRecord stored, Func<MachineRecord, MachineRecord> change)
    {
        var next = change(stored) with { Revision = stored.Revision + 1 };
        Assert.True(await Store.TryUpdateMachineAsync(next, stored.Revision, Payload(next)), $"the update of {stored.Id} at revision {stored.Revision} was refused");
        return next;
    }

    /// <summary>Moves the machine to destroyed (asked and done) at <paramref name="at"/>.</summary>
    protected Task<MachineRecord> DestroyAsync(MachineRecord stored, DateTimeOffset at) =>
        UpdateAsync(stored, m => m with { DesiredState = DesiredStates.Destroyed, Phase = MachinePhases.Destroyed, Reason = "destroyed", LastTransitionAt = at, LastProgressAt = at });

    protected static SessionRecord NewSession(MachineRecord machine, string status, DateTimeOffset? expiresAt = null, bool certificate = true) => new()
    {
        Id = SessionIds.New(),
        OrgId = machine.OrgId,
        MachineId = machine.Id,
        Status = status,
        PublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdZ1vq6VQ2m9QhRkLqQxHjVJvQW3yP8s0Gf6p3GJm1x test",
        Serial = SessionIds.NewSerial(),
        Certificate = certificate ? "ssh-ed25519-cert-v01@openssh.com AAAA test-cert" : null,
        CreatedAt = T0,
        ExpiresAt = expiresAt ?? T0 + TimeSpan.FromHours(1),
    };

    protected static ExecutionRecord NewExecution(MachineRecord machine, string runner = "runner-a", DateTimeOffset? at = null) => new()
    {
        Id = ExecutionIds.New(),
        OrgId = machine.OrgId,
        MachineId = machine.Id,
        Status = ExecutionStatuses.Queued,
        Command = ["/bin/sh", "-c", "echo 'a b' \"c\""],
        Cwd = "/home/machine",
        EnvKeys = ["HOME", "TOKEN"],
        TimeoutMs = 60_000,
        Runner = runner,
        StreamId = ExecutionIds.NewStream(),
        CreationRequestId = "req-1",
        CreationTraceId = "0af7651916cd43dd8448eb211c80319c",
        CreatedAt = at ?? T0,
    };

    protected static ExecutionEventRecord Lifecycle(string status, DateTimeOffset? at = null) =>
        new() { Type = ExecutionEventTypes.Lifecycle, Status = status, At = at ?? T0 };

    protected static ExecutionEventRecord Output(string type, string chunk, DateTimeOffset? at = null) =>
        new() { Type = type, Chunk = chunk, At = at ?? T0 };

    /// <summary>Stores <paramref name="execution"/> with its created event; asserts the machine was there.</summary>
    protected async Task<ExecutionRecord> InsertExecutionAsync(ExecutionRecord execution) =>
        await Store.InsertExecutionAsync(execution, Lifecycle(execution.Status, execution.CreatedAt)) ?? throw new InvalidOperationException("the machine is gone");

    /// <summary>Finishes a live execution (exit 0) at <paramref name="at"/>, expiring a day later.</summary>
    protected async Task<ExecutionRecord> FinishAsync(ExecutionRecord execution, DateTimeOffset at, int keepPerMachine = 1000)
    {
        var finished = execution with
        {
            Status = ExecutionStatuses.Succeeded, StartedAt = execution.StartedAt ?? at, CompletedAt = at, ExpiresAt = at + TimeSpan.FromDays(1), ExitCode = 0,
        };
        return await Store.UpdateExecutionAsync(finished, [Lifecycle(ExecutionStatuses.Succeeded, at)], keepPerMachine)
            ?? throw new InvalidOperationException("the execution was not live");
    }

    /// <summary>The refusal an admission check throws.</summary>
    protected sealed class RefusedException() : Exception("refused by the admission check");
}
