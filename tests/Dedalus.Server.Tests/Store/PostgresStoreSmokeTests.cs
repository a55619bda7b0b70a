using System.Text.Json;
using Dedalus.Server.Store;
using Dedalus.Testing;
using Dedalus.Testing.Postgres;
using Dedalus.Server.Store.Postgres;
using Dedalus.Server.Store.Sqlite;
using Npgsql;

namespace Dedalus.Server.Tests.Store;

/// <summary>
/// The PostgreSQL store against a real PostgreSQL server (started for this class from the host's
/// <c>/usr/lib/postgresql/*/bin</c>, listening on 127.0.0.1 only): every operation answers as the SQLite store's does, the
/// guarantees the SQLite write lock gives hold across two store instances (two server processes), migrations run once,
/// and an unreachable database is <see cref="StoreUnavailableException"/> that heals by itself.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreSmokeTests(PostgresFixture postgres)
{
    private const string TestNode = "node-test";

    /// <summary>Every machine on one node, with the port range given.</summary>
    private static Func<IResourceReader, MachinePlacement> Place(int low, int high) => _ => new MachinePlacement(TestNode, low, high);

    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);

    [Fact]
    public async Task Every_operation_answers_as_the_SQLite_store_answers_it()
    {
        var directory = Directory.CreateTempSubdirectory("pgstore-sqlite-");
        try
        {
            List<string> expected;
            await using (var sqlite = await SqliteStore.OpenAsync(directory.FullName))
            {
                expected = await ExerciseAsync(sqlite);
            }

            await using var store = await PostgresStore.OpenAsync(await postgres.Server.CreateDatabaseAsync());
            var actual = await ExerciseAsync(store);
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i], actual[i]);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Concurrent_session_creates_through_two_stores_never_pass_a_limit()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await using var first = await PostgresStore.OpenAsync(connectionString);
        await using var second = await PostgresStore.OpenAsync(connectionString);
        var org = await first.EnsureOrgAsync("acme", T0);
        await first.InsertMachineAsync(Machine("dm-1", org), Place(20000, 20100), Payload);

        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            var store = i % 2 == 0 ? first : second;
            try
            {
                await store.InsertSessionAsync(Session($"ss-{i}", org, "dm-1", (ulong)i + 1), reader =>
                {
                    if (reader.LiveSessions(org, T0) >= 5)
                    {
                        throw new InvalidOperationException("over the limit");
                    }
                });
                return true;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }));

        Assert.Equal(5, results.Count(r => r));
        Assert.Equal(5, (await first.ListSessionsAsync("dm-1", 0, 100)).Items.Count);
    }

    [Fact]
    public async Task Concurrent_claims_of_an_unclaimed_execution_through_two_stores_give_it_and_its_sealed_input_to_one_runner_only()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await using var first = await PostgresStore.OpenAsync(connectionString);
        await using var second = await PostgresStore.OpenAsync(connectionString);
        var org = await first.EnsureOrgAsync("acme", T0);
        await first.InsertMachineAsync(Machine("dm-1", org), Place(20000, 20100), Payload);
        for (var i = 0; i < 10; i++)
        {
            await first.InsertExecutionAsync(Execution($"ex-{i}", org, "dm-1") with { Runner = "" }, Event("lifecycle", status: "queued"), sealedInput: [(byte)i, 42]);
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            (i % 2 == 0 ? first : second).ClaimExecutionAsync($"ex-{i % 10}", $"runner-{i}")));

        for (var i = 0; i < 10; i++)
        {
            var won = Assert.Single(claims, c => c?.Execution.Id == $"ex-{i}")!;
            Assert.Equal(new byte[] { (byte)i, 42 }, won.SealedInput);
            Assert.Equal(won.Execution.Runner, (await second.GetExecutionAsync($"ex-{i}"))!.Runner);
        }

        Assert.Empty(await first.ListUnclaimedExecutionsAsync());
    }

    [Fact]
    public async Task Concurrent_machine_creates_take_distinct_lowest_ports_and_a_name_only_once()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await using var first = await PostgresStore.OpenAsync(connectionString);
        await using var second = await PostgresStore.OpenAsync(connectionString);
        var org = await first.EnsureOrgAsync("acme", T0);

        var created = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? first : second).InsertMachineAsync(Machine($"dm-{i}", org), Place(20000, 20100), Payload)));
        Assert.Equal(Enumerable.Range(20000, 20), created.Select(m => m!.GatewayPort).Order());

        var named = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
        {
            try
            {
                return await (i % 2 == 0 ? first : second).InsertMachineAsync(Machine($"dm-named-{i}", org) with { Name = "web" }, Place(20000, 20100), Payload);
            }
            catch (MachineNameTakenException e)
            {
                Assert.Equal("web", e.Name);
                return null;
            }
        }));
        var winner = Assert.Single(named, m => m is not null)!;
        Assert.Equal(winner.Id, (await first.FindMachineByNameAsync(org, "web"))!.Id);
    }

    [Fact]
    public async Task Processes_that_open_a_fresh_database_at_once_migrate_it_exactly_once()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresStore.OpenAsync(connectionString)));
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*), count(DISTINCT version) FROM schema_migrations", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.True(reader.GetInt64(0) >= 1);
        Assert.Equal(reader.GetInt64(0), reader.GetInt64(1));
    }

    [Fact]
    public async Task An_unreachable_database_is_StoreUnavailable_and_a_bad_connection_string_an_ArgumentException_without_the_password()
    {
        var unreachable = await Assert.ThrowsAsync<StoreUnavailableException>(() =>
            PostgresStore.OpenAsync($"Host=127.0.0.1;Port={FreePort.Next()};Database=x;Username=postgres;Password=hunter2;Timeout=5"));
        Assert.StartsWith("the database at 127.0.0.1:", unreachable.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", unreachable.Message, StringComparison.Ordinal);

        var bad = await Assert.ThrowsAsync<ArgumentException>(() => PostgresStore.OpenAsync("Host=127.0.0.1;Port=notaport;Password=hunter2"));
        Assert.Contains("connection string", bad.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", bad.Message, StringComparison.Ordinal);
        Assert.Equal("db.example:6432/dedalus", PostgresStore.Describe("Host=db.example;Port=6432;Database=dedalus;Password=hunter2"));
    }

    [Fact]
    public async Task A_database_restart_fails_an_operation_at_most_once_and_the_store_recovers_by_itself()
    {
        await using var store = await PostgresStore.OpenAsync(await postgres.Server.CreateDatabaseAsync());
        var org = await store.EnsureOrgAsync("acme", T0);

        // Several pooled connections, all of which die with the server.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => store.ListOrgsAsync()));

        await postgres.Server.StopAsync();
        var down = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.FindOrgAsync("acme"));
        Assert.Contains("is unreachable", down.Message, StringComparison.Ordinal);

        await postgres.Server.StartAgainAsync();
        var failures = 0;
        for (var i = 0; i < 10; i++)
        {
            try
            {
                Assert.Equal(org, (await store.FindOrgAsync("acme"))!.Id);
            }
            catch (StoreUnavailableException)
            {
                failures++;
            }
        }

        Assert.True(failures <= 1, $"{failures} operations failed after the restart");
        Assert.Equal(org, await store.EnsureOrgAsync("acme", T0));
    }

    /// <summary>Every IStore operation, in an order that touches every rule; each answer as JSON text.</summary>
    private static async Task<List<string>> ExerciseAsync(IStore store)
    {
        var log = new List<string>();
        var orgIds = new Dictionary<string, string>(StringComparer.Ordinal);

        // Org ids are random (uuid v7): each answer shows them by name.
        void Log(string step, object? value) =>
            log.Add(orgIds.Aggregate(step + " " + JsonSerializer.Serialize(value), (text, org) => text.Replace(org.Key, org.Value, StringComparison.Ordinal)));

        var org = await store.EnsureOrgAsync("acme", T0);
        Log("ensure again", await store.EnsureOrgAsync("acme", T0) == org);
        var other = await store.EnsureOrgAsync("Beta", T0);
        orgIds[org] = "org-acme";
        orgIds[other] = "org-Beta";
        orgIds[await store.EnsureOrgAsync("alpha", T0)] = "org-alpha";
        Log("orgs", (await store.ListOrgsAsync()).Select(o => o.Name));
        Log("find org", (await store.FindOrgAsync("Beta"))?.Id == other);
        await store.AddApiKeyAsync([1, 2, 3], "dk_1", org, T0);
        Log("key", await store.FindOrgByApiKeyHashAsync([1, 2, 3]) == org);
        Log("no key", await store.FindOrgByApiKeyHashAsync([9]));
        Log("autoresize off", await store.GetOrgAutoresizeAsync(org));
        await store.SetOrgAutoresizeAsync(org, true);
        Log("autoresize on", await store.GetOrgAutoresizeAsync(org));
        Log("autoresize orgs", (await store.ListAutoresizeOrgsAsync()).Count);

        // Machines: lowest free port, names, revisions, admission, events.
        var a = await store.InsertMachineAsync(Machine("dm-a", org) with { Name = "web" }, Place(20000, 20002), Payload);
        var b = await store.InsertMachineAsync(Machine("dm-b", org) with { Autoresize = true, NetworkPolicy = "{}" }, Place(20000, 20002), Payload, r => Log("admit machines", r.Machines(org)));
        var c = await store.InsertMachineAsync(Machine("dm-c", other), Place(20000, 20002), Payload, r => Log("admit storage", r.CommittedStorageGib(TestNode)));
        Log("exhausted", await store.InsertMachineAsync(Machine("dm-d", org), Place(20000, 20002), Payload));
        Log("ports", new[] { a!.GatewayPort, b!.GatewayPort, c!.GatewayPort });
        var taken = await Record(() => store.InsertMachineAsync(Machine("dm-e", org) with { Name = "web" }, Place(20000, 20010), Payload));
        Log("name taken", taken);
        Log("refused", await Record(() => store.InsertMachineAsync(Machine("dm-f", org), Place(20000, 20010), Payload, _ => throw new InvalidOperationException("quota"))));
        Log("get", await store.GetMachineAsync("dm-b"));
        Log("by name", (await store.FindMachineByNameAsync(org, "web"))?.Id);

        var moved = a with { Revision = 2, Phase = "running", GatewayPort = 20005, GatewayPortError = "held", LastProgressAt = T0.AddSeconds(1), MemoryLastAutoresizedAt = T0 };
        Log("cas ok", await store.TryUpdateMachineAsync(moved, 1, "{\"rev\":2}"));
        Log("cas stale", await store.TryUpdateMachineAsync(moved with { Revision = 3 }, 1, "{\"rev\":3}"));
        Log("port held", await store.TryUpdateMachineAsync(b with { Revision = 2, GatewayPort = 20005 }, 1, "{}"));
        Log("rename taken", await Record(() => store.TryUpdateMachineAsync(b with { Revision = 2, Name = "web" }, 1, "{}")));
        Log("admit update", await store.TryUpdateMachineAsync(b with { Revision = 2, MemoryMib = 4096 }, 1, "{}", r => Log("overrides", r.QuotaOverrides(org))));
        Log("network", await store.AssignNetworkAddressAsync("dm-a", ["10.0.0.2", "10.0.0.3"], _ => true));
        Log("network b", await store.AssignNetworkAddressAsync("dm-b", ["10.0.0.2", "10.0.0.3"], _ => true));
        Log("network kept", await store.AssignNetworkAddressAsync("dm-a", ["10.0.0.9"], held => held == "10.0.0.2"));
        Log("network gone", await store.AssignNetworkAddressAsync("dm-zz", ["10.0.0.9"], _ => true));
        var destroyed = moved with { Revision = 3, DesiredState = "destroyed", Phase = "destroyed", LastTransitionAt = T0.AddSeconds(2), LastProgressAt = T0.AddSeconds(2) };
        Log("destroy", await store.TryUpdateMachineAsync(destroyed, 2, "{\"rev\":3}"));
        Log("name free", (await store.InsertMachineAsync(Machine("dm-g", org) with { Name = "web" }, Place(20000, 20010), Payload))?.GatewayPort);
        Log("list", await store.ListMachinesAsync(org, 0, 2, T0));
        Log("list page 2", await store.ListMachinesAsync(org, 2, 2, T0));
        Log("list hides old destroyed", (await store.ListMachinesAsync(org, 0, 10, T0.AddSeconds(3))).Items.Select(m => m.Id));
        Log("live", (await store.ListLiveMachinesAsync()).Select(m => m.Id));
        Log("events", await store.GetMachineEventsAsync("dm-a", 0));
        Log("events after", await store.GetMachineEventsAsync("dm-a", 2));

        // Sessions.
        Log("session", await store.InsertSessionAsync(Session("ss-1", org, "dm-b", ulong.MaxValue), r => Log("live sessions", new object?[] { r.LiveSessions(org, T0), r.NextSessionExpiry(org, T0) })));
        Log("session gone machine", await store.InsertSessionAsync(Session("ss-2", org, "dm-none", 2)));
        await store.InsertSessionAsync(Session("ss-3", org, "dm-b", 3) with { Status = "ready", ReadyAt = T0 });
        await store.InsertSessionAsync(Session("ss-4", org, "dm-b", 4) with { ExpiresAt = T0.AddSeconds(1) });
        await store.InsertSessionAsync(Session("ss-5", org, "dm-g", 5) with { Certificate = null });
        Log("admit after", await store.ReadResourcesAsync(r => new object?[] { r.LiveSessions(org, T0), r.NextSessionExpiry(org, T0), r.Machines(org), r.CommittedStorageGib(TestNode) }));
        Log("get session", await store.GetSessionAsync("ss-1"));
        Log("sessions", await store.ListSessionsAsync("dm-b", 0, 2));
        Log("live sessions all", (await store.ListLiveSessionsAsync(T0)).Select(s => s.Id));
        Log("has live", new[] { await store.HasLiveSessionAsync("dm-b", T0), await store.HasLiveSessionAsync("dm-a", T0) });
        Log("waiting", await store.MarkSessionsWaitingAsync("dm-b", "ssh_in_progress", T0));
        Log("ready", await store.MarkSessionsReadyAsync("dm-b", T0.AddSeconds(2)));
        Log("fail none", await store.FailWaitingSessionsAsync("dm-b", "E", "m"));
        Log("fail g", await store.FailWaitingSessionsAsync("dm-g", "E", "m"));
        Log("close", await store.CloseSessionAsync("ss-3", T0.AddSeconds(3)));
        Log("close again", await store.CloseSessionAsync("ss-3", T0.AddSeconds(3)));
        Log("expire", await store.ExpireSessionsAsync(T0.AddSeconds(2)));
        Log("end", await store.EndMachineSessionsAsync("dm-b", T0.AddSeconds(3), "MACHINE_DESTROYED", "gone"));
        Log("sessions after", await store.ListSessionsAsync("dm-b", 0, 10));
        Log("revoked", await store.ListRevokedSerialsAsync(T0));

        // Gateway audit.
        for (var i = 0; i < 6; i++)
        {
            await store.RecordConnectionAsync(new ConnectionAudit(i < 4 ? "dm-b" : "dm-g", "ss-1", i == 0 ? ulong.MaxValue : null, "127.0.0.1:1", T0, T0.AddSeconds(i), 1, 2, "closed",
                i == 5 ? new string('x', 2000) : null));
        }

        Log("trim", await store.TrimConnectionsAsync(T0.AddSeconds(5), 2, 3));
        Log("trim more", await store.TrimConnectionsAsync(T0.AddSeconds(5), 2, 10));
        Log("activity", (await store.GetMachineAsync("dm-b"))!.LastActivityAt);

        // Executions.
        var ex = await store.InsertExecutionAsync(Execution("ex-1", org, "dm-b"), Event("lifecycle", status: "queued"), r => Log("live executions", new[] { r.LiveExecutions(org), r.MachineLiveExecutions("dm-b") }));
        Log("execution", ex);
        Log("execution gone machine", await store.InsertExecutionAsync(Execution("ex-x", org, "dm-none"), Event("lifecycle")));
        var running = ex! with { Status = "running", StartedAt = T0.AddSeconds(1), StdoutBytes = 4 };
        Log("update", await store.UpdateExecutionAsync(running, [Event("stdout", chunk: "a\0b\n"), Event("stderr", chunk: "é"), Event("stdout", chunk: "c")], 1));
        Log("events", await store.ListExecutionEventsAsync(ex!.Seq, 1, 2));
        var (stdout, stderr) = await store.GetExecutionOutputAsync(ex.Seq);
        Log("output", new[] { stdout, stderr });
        Log("orphans", (await store.ListOrphanedExecutionsAsync("other-runner")).Select(e => e.Id));
        Log("epoch", new[] { await store.AdvanceExecutionTokenEpochAsync("ex-1"), await store.AdvanceExecutionTokenEpochAsync("ex-none") });
        var ex2 = await store.InsertExecutionAsync(Execution("ex-2", org, "dm-b"), Event("lifecycle"));
        Log("finish", await store.UpdateExecutionAsync(running with { Status = "succeeded", ExitCode = 0, CompletedAt = T0.AddSeconds(2), ExpiresAt = T0.AddSeconds(10) }, [Event("lifecycle", status: "succeeded")], 1));
        Log("finish 2", await store.UpdateExecutionAsync(ex2! with { Status = "failed", Signal = 9, ErrorCode = "E", ExpiresAt = T0.AddSeconds(20) }, [], 1));
        Log("finished is final", await store.UpdateExecutionAsync(running, [], 1));
        Log("executions", await store.ListExecutionsAsync("dm-b", 0, 1));
        Log("expire executions", await store.DeleteExpiredExecutionsAsync(T0.AddSeconds(30), 10));
        Log("get execution", await store.GetExecutionAsync("ex-2"));

        // Executions handed to another node: stored unclaimed with a sealed input, claimed once, cancels recorded.
        await store.InsertExecutionAsync(Execution("ex-3", org, "dm-b") with { Runner = "" }, Event("lifecycle", status: "queued"), sealedInput: [1, 0, 2]);
        Log("unclaimed", (await store.ListUnclaimedExecutionsAsync()).Select(e => e.Id));
        Log("unclaimed are no orphans", (await store.ListOrphanedExecutionsAsync("other-runner")).Select(e => e.Id));
        Log("cancel requested", await store.RequestExecutionCancelAsync("ex-3"));
        Log("claimed", await store.ClaimExecutionAsync("ex-3", "runner-2"));
        Log("claimed again", await store.ClaimExecutionAsync("ex-3", "runner-3"));
        Log("unclaimed after", (await store.ListUnclaimedExecutionsAsync()).Select(e => e.Id));
        await store.InsertExecutionAsync(Execution("ex-4", org, "dm-b") with { Runner = "" }, Event("lifecycle", status: "queued"), sealedInput: [9]);
        Log("unclaimed ended", await store.UpdateExecutionAsync((await store.GetExecutionAsync("ex-4"))! with { Status = "failed" }, [], 10));
        Log("ended is not claimed", await store.ClaimExecutionAsync("ex-4", "runner-2"));
        Log("cancel of an ended one", await store.RequestExecutionCancelAsync("ex-4"));
        Log("cancel of none", await store.RequestExecutionCancelAsync("ex-none"));

        // Idempotency.
        Log("claim", await store.TryBeginIdempotentAsync(org, "k1", "h1", T0));
        Log("in flight", await store.TryBeginIdempotentAsync(org, "k1", "h2", T0.AddSeconds(1)));
        Log("taken over", await store.TryBeginIdempotentAsync(org, "k1", "h3", T0 + PostgresStore.InFlightLease + TimeSpan.FromSeconds(1)));
        await store.CompleteIdempotentAsync(org, "k1", 201, "\"e\"", "application/json", [7, 8], "op-1");
        Log("replay", await store.TryBeginIdempotentAsync(org, "k1", "h3", T0.AddHours(1)));
        await store.TryBeginIdempotentAsync(org, "k2", "h", T0);
        await store.AbandonIdempotentAsync(org, "k2");
        Log("abandoned", await store.TryBeginIdempotentAsync(org, "k2", "h", T0));

        // Quotas and settings.
        await store.SetQuotaOverridesAsync(org, new Dictionary<string, string?> { ["machines"] = "5", ["vcpu"] = "25%" }, T0);
        await store.SetQuotaOverridesAsync(org, new Dictionary<string, string?> { ["machines"] = "7", ["vcpu"] = null }, T0);
        Log("overrides after", await store.ReadResourcesAsync(r => r.QuotaOverrides(org)));
        await store.SaveServerSettingsAsync(new Dictionary<string, string> { ["QuotaMachines"] = "10", ["QuotaVcpu"] = "4" }, T0);
        await store.SaveServerSettingsAsync(new Dictionary<string, string> { ["QuotaMachines"] = "12" }, T0);
        Log("settings", await store.GetServerSettingsAsync());

        // Retention.
        Log("prune", await store.PruneAsync(T0.AddSeconds(2), T0.AddDays(1)));
        Log("events after prune", (await store.GetMachineEventsAsync("dm-a", 0)).Select(e => e.Revision));
        Log("revoked after prune", await store.ListRevokedSerialsAsync(T0));
        return log;
    }

    private static async Task<string> Record<T>(Func<Task<T>> action)
    {
        try
        {
            return JsonSerializer.Serialize(await action());
        }
        catch (Exception e) when (e is MachineNameTakenException or InvalidOperationException)
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }

    private static string Payload(MachineRecord machine) => $"{{\"id\":\"{machine.Id}\",\"port\":{machine.GatewayPort}}}";

    private static MachineRecord Machine(string id, string org) => new()
    {
        Id = id,
        OrgId = org,
        Vcpu = 1.5,
        MemoryMib = 2048,
        StorageGib = 10,
        AutosleepSeconds = 300,
        DesiredState = "running",
        Phase = "accepted",
        Reason = "",
        Retryable = true,
        LastError = null,
        Revision = 1,
        CreatedAt = T0,
        LastTransitionAt = T0,
        LastProgressAt = T0,
        LastActivityAt = T0,
    };

    private static SessionRecord Session(string id, string org, string machine, ulong serial) => new()
    {
        Id = id,
        OrgId = org,
        MachineId = machine,
        Status = "wake_in_progress",
        PublicKey = "ssh-ed25519 AAAA",
        Serial = serial,
        Certificate = "cert",
        CreatedAt = T0.AddMilliseconds(5),
        ExpiresAt = T0.AddHours(1),
    };

    private static ExecutionRecord Execution(string id, string org, string machine) => new()
    {
        Id = id,
        OrgId = org,
        MachineId = machine,
        Status = "queued",
        Command = ["sh", "-c", "echo \"hi\""],
        EnvKeys = ["A"],
        TimeoutMs = 1000,
        Runner = "runner-1",
        StreamId = "st-" + id,
        CreatedAt = T0.AddSeconds(10),
    };

    private static ExecutionEventRecord Event(string type, string? chunk = null, string? status = null) => new() { Type = type, At = T0, Chunk = chunk, Status = status };
}
