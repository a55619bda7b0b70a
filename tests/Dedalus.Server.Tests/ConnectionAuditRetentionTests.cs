using Dedalus.Server.Reconciliation;
using Dedalus.Server.Store;
using Dedalus.Server.Store.Sqlite;
using Dedalus.Server.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// The gateway's connection audit stays bounded (issue #11): rows past <c>ConnectionAuditRetention</c> go, each machine
/// keeps its newest <c>ConnectionAuditPerMachine</c>, and a backlog goes in batches. Real SQLite, a fake clock; the
/// background sweep is pushed out of reach so each test runs the sweep itself.
/// </summary>
public sealed class ConnectionAuditRetentionTests : ServerTestBase
{
    private const int Cap = 50;
    private static readonly TimeSpan Retention = TimeSpan.FromDays(30);
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    protected override Task<RunningServer> StartServerAsync(string dataDirectory) => RunningServer.StartAsync(
        dataDirectory, _clock,
        ["--Dedalus:SweepInterval", "45.00:00:00", "--Dedalus:ConnectionAuditRetention", "30.00:00:00", "--Dedalus:ConnectionAuditPerMachine", Cap.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    private IStore Store => Server.Service<IStore>();

    private static string MachineId(int n) => $"dm-00000000-0000-7000-8000-{n:D12}";

    private Task RecordAsync(string machineId, DateTimeOffset endedAt, string? detail = null) => Store.RecordConnectionAsync(
        new ConnectionAudit(machineId, null, null, "127.0.0.1:40000", endedAt - TimeSpan.FromSeconds(1), endedAt, 10, 20, "auth_failed", detail));

    [Fact]
    public async Task Rows_that_ended_before_the_retention_go_at_the_next_sweep_and_newer_ones_stay()
    {
        var now = _clock.GetUtcNow();
        var machine = MachineId(1);
        await RecordAsync(machine, now - Retention - TimeSpan.FromMinutes(1), "old");
        await RecordAsync(machine, now - Retention + TimeSpan.FromDays(2), "two days left");
        await RecordAsync(machine, now, "new");

        await Server.Service<MaintenanceService>().RunOnceAsync();
        Assert.Equal(["two days left", "new"], (await ConnectionAuditRows.ReadAsync(Data.Path)).Select(r => r.Detail));

        _clock.Advance(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(1));
        await Server.Service<MaintenanceService>().RunOnceAsync();
        Assert.Equal(["new"], (await ConnectionAuditRows.ReadAsync(Data.Path)).Select(r => r.Detail));
    }

    [Fact]
    public async Task A_machine_over_its_cap_keeps_exactly_its_newest_rows_and_other_machines_are_untouched()
    {
        var now = _clock.GetUtcNow();
        var flooded = MachineId(1);
        var quiet = MachineId(2);

        // Recorded out of order: "newest" is by the connection's end, not by when its row was written.
        var ends = Enumerable.Range(0, Cap + 30).Select(i => now - TimeSpan.FromSeconds(i)).ToArray();
        new Random(11).Shuffle(ends);
        foreach (var end in ends)
        {
            await RecordAsync(flooded, end);
        }

        for (var i = 0; i < Cap - 1; i++)
        {
            await RecordAsync(quiet, now - TimeSpan.FromMinutes(i));
        }

        await Server.Service<MaintenanceService>().RunOnceAsync();

        var rows = await ConnectionAuditRows.ReadAsync(Data.Path);
        var kept = rows.Where(r => r.MachineId == flooded).Select(r => r.EndedAt).Order().ToArray();
        var newest = ends.Select(e => e.ToUnixTimeMilliseconds()).OrderDescending().Take(Cap).Order().ToArray();
        Assert.Equal(newest, kept);
        Assert.Equal(Cap - 1, rows.Count(r => r.MachineId == quiet));
    }

    [Fact]
    public async Task A_destroyed_machines_rows_follow_the_same_rules()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var now = _clock.GetUtcNow();
        for (var i = 0; i < Cap + 5; i++)
        {
            await RecordAsync(machine.StoreId(), now - TimeSpan.FromSeconds(i));
        }

        await RecordAsync(machine.StoreId(), now - Retention - TimeSpan.FromSeconds(1));
        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        await Api.WaitForPhaseAsync(machine.MachineId, Dedalus.Contracts.MachinePhases.Destroyed);

        await Server.Service<MaintenanceService>().RunOnceAsync();

        var kept = (await ConnectionAuditRows.ReadAsync(Data.Path)).Where(r => r.MachineId == machine.StoreId()).Select(r => r.EndedAt).ToArray();
        Assert.Equal(Cap, kept.Length);
        Assert.All(kept, ended => Assert.True(ended > (now - TimeSpan.FromSeconds(Cap)).ToUnixTimeMilliseconds()));
    }

    [Fact]
    public async Task A_big_backlog_is_trimmed_over_several_trims_each_deleting_at_most_its_batch()
    {
        const int batch = 100;
        var now = _clock.GetUtcNow();
        var flooded = MachineId(1);
        var quiet = MachineId(2);
        for (var i = 0; i < Cap + 230; i++)
        {
            await RecordAsync(flooded, now - TimeSpan.FromSeconds(i));
        }

        // Expired rows of five machines, each under its cap.
        for (var i = 0; i < 170; i++)
        {
            await RecordAsync(MachineId(2 + (i % 5)), now - Retention - TimeSpan.FromSeconds(i + 1));
        }

        await RecordAsync(quiet, now);

        // The 230 rows over the cap go first, then the 170 expired ones: 400 rows, at most 100 a trim.
        var trims = new List<ConnectionAuditTrim>();
        var before = (await ConnectionAuditRows.ReadAsync(Data.Path)).Count;
        while (true)
        {
            var trim = await Store.TrimConnectionsAsync(now - Retention, Cap, batch);
            var after = (await ConnectionAuditRows.ReadAsync(Data.Path)).Count;
            Assert.Equal(before - after, trim.Total);
            before = after;
            trims.Add(trim);
            if (trim.Total == 0)
            {
                break;
            }
        }

        Assert.Equal(
            [new(100, 0), new(100, 0), new(30, 70), new(0, 100), new(0, 0)],
            trims);
        var rows = await ConnectionAuditRows.ReadAsync(Data.Path);
        Assert.Equal(Cap, rows.Count(r => r.MachineId == flooded));
        Assert.Equal([now.ToUnixTimeMilliseconds()], rows.Where(r => r.MachineId != flooded).Select(r => r.EndedAt));
    }

    [Fact]
    public async Task One_sweep_takes_a_backlog_of_several_batches_in_batches()
    {
        var now = _clock.GetUtcNow();
        var backlog = 2 * MaintenanceService.ConnectionAuditBatch + 300;
        for (var i = 0; i < Cap + backlog; i++)
        {
            await RecordAsync(MachineId(1), now - TimeSpan.FromMilliseconds(i));
        }

        Assert.Equal(backlog, await Server.Service<MaintenanceService>().TrimConnectionAuditAsync());
        Assert.Equal(Cap, (await ConnectionAuditRows.ReadAsync(Data.Path)).Count);
        Assert.Equal(0, await Server.Service<MaintenanceService>().TrimConnectionAuditAsync());
    }

    [Fact]
    public async Task An_audit_rows_free_text_is_bounded()
    {
        await RecordAsync(MachineId(1), _clock.GetUtcNow(), new string('x', 100_000));

        var row = Assert.Single(await ConnectionAuditRows.ReadAsync(Data.Path));
        Assert.Equal(new string('x', SqliteStore.MaxConnectionAuditText), row.Detail);
    }
}
