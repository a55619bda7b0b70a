using System.Net;
using Dedalus.Contracts;
using Dedalus.Machines.Runc;
using Dedalus.Server.Quotas;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dedalus.Server.Tests;

/// <summary>
/// The host's storage: committed <c>storage_gib</c> of every org's machines plus the request must fit in
/// overcommit x (free space + what the machine images hold). A fixed host checks the arithmetic; the real one is
/// measured with statvfs on the data directory.
/// </summary>
public sealed class StorageCapacityTests : IDisposable
{
    private const long GiB = 1L << 30;
    private readonly TempDirectory _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task Storage_the_host_cannot_back_is_refused_for_every_org_and_a_destroyed_machine_gives_it_back()
    {
        // 20 GiB free plus 5 GiB in images: 25 GiB can be committed.
        await using var server = await StartAsync(new StorageCapacity(20 * GiB, 5 * GiB, 1), "--quota-storage-gib", "unlimited");
        using var first = await server.NewClientAsync("first");
        using var second = await server.NewClientAsync("second");
        var doomed = await first.CreateRunningMachineAsync(Machine(10));
        var kept = await first.CreateMachineAsync(Machine(10));

        var refused = await first.PostAsync("/v1/machines", Machine(10));
        var alsoRefused = await second.PostAsync("/v1/machines", Machine(10));
        var fits = await second.PostAsync("/v1/machines", Machine(5));
        var grow = await first.SendAsync(HttpMethod.Patch, $"/v1/machines/{kept.MachineId}", """{"storage_gib":11}""");

        AssertInsufficient(refused, requested: 10, committed: 20, capacity: 25);
        Assert.Contains("20 GiB free plus 5 GiB held by machine images, overcommit 1", refused.Error().Message, StringComparison.Ordinal);
        AssertInsufficient(alsoRefused, requested: 10, committed: 20, capacity: 25);
        Assert.Equal(HttpStatusCode.OK, fits.Status);
        AssertInsufficient(grow, requested: 1, committed: 25, capacity: 25);
        Assert.Equal(10, (await first.GetAsync($"/v1/machines/{kept.MachineId}")).Machine().StorageGib);
        Assert.Single((await second.GetAsync("/v1/machines")).MachineList().Items);

        // Its storage is committed until the machine is destroyed (its image exists until then).
        await first.SendAsync(HttpMethod.Delete, $"/v1/machines/{doomed.MachineId}");
        await first.WaitForPhaseAsync(doomed.MachineId, MachinePhases.Destroyed);
        Assert.Equal(HttpStatusCode.OK, (await second.PostAsync("/v1/machines", Machine(10))).Status);
    }

    [Fact]
    public async Task The_overcommit_ratio_multiplies_what_the_host_can_back()
    {
        await using var server = await StartAsync(new StorageCapacity(10 * GiB, 0, 2.5), "--quota-storage-gib", "unlimited");
        using var api = await server.NewClientAsync();
        await api.CreateMachineAsync(Machine(20));

        AssertInsufficient(await api.PostAsync("/v1/machines", Machine(6)), requested: 6, committed: 20, capacity: 25);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/v1/machines", Machine(5))).Status);
    }

    [Fact]
    public async Task The_default_storage_quota_is_half_of_what_the_host_can_back_so_a_second_org_still_gets_the_rest()
    {
        await using var server = await StartAsync(new StorageCapacity(40 * GiB, 0, 1));
        using var first = await server.NewClientAsync("first");
        using var second = await server.NewClientAsync("second");
        await first.CreateMachineAsync(Machine(10));
        await first.CreateMachineAsync(Machine(10));

        var refused = await first.PostAsync("/v1/machines", Machine(1));

        QuotaTests.AssertRefused(refused, HttpStatusCode.Conflict, "storage_gib", "20", "20", "1");
        Assert.Equal(HttpStatusCode.OK, (await second.PostAsync("/v1/machines", Machine(20))).Status);
    }

    [Fact]
    public async Task Storage_beyond_the_real_disk_is_refused_through_statvfs_on_the_data_directory()
    {
        var free = new DriveInfo(_data.Path).AvailableFreeSpace;

        // The largest machine (1024 GiB) must not fit: on a disk with more room than that, a ratio below 1 shrinks it.
        var ratio = free < 900 * GiB ? 1.0 : Math.Max(0.01, Math.Floor(500.0 * GiB / free * 100) / 100);
        await using var server = await RunningServer.StartAsync(
            _data.Path, extraArgs: ["--storage-overcommit", ratio.ToString(System.Globalization.CultureInfo.InvariantCulture), "--quota-storage-gib", "unlimited"]);
        using var api = await server.NewClientAsync();

        var refused = await api.PostAsync("/v1/machines", Machine(1024));
        var small = await api.PostAsync("/v1/machines", Machine(1));

        Assert.True(refused.Status == HttpStatusCode.Conflict, refused.ToString());
        var capacity = long.Parse(refused.Error().Details!["capacity_gib"], System.Globalization.CultureInfo.InvariantCulture);
        var expected = ratio * free / GiB;

        // Other processes write to the same disk meanwhile: the measure is the disk's, within a margin.
        Assert.InRange(capacity, (long)(expected * 0.8) - 1, (long)(expected * 1.2) + 1);
        AssertInsufficient(refused, requested: 1024, committed: 0, capacity: capacity);
        Assert.Equal(HttpStatusCode.OK, small.Status);
    }

    [Fact]
    public void A_machine_image_counts_with_the_space_it_holds_not_its_size()
    {
        var runtime = new RuncRuntimeOptions { DataDirectory = _data.Combine("runtime") };
        Assert.Equal(0, RuncMachineRuntime.HomeImageBytes(runtime));
        var machine = Path.Combine(runtime.MachinesDirectory, "dm-00000000-0000-7000-8000-000000000001");
        Directory.CreateDirectory(machine);
        Directory.CreateDirectory(Path.Combine(runtime.MachinesDirectory, "dm-00000000-0000-7000-8000-000000000002")); // no image yet
        using (var image = new FileStream(Path.Combine(machine, "home.img"), FileMode.CreateNew))
        {
            image.SetLength(10 * GiB);
            image.Write(new byte[1 << 20]);
            image.Flush(flushToDisk: true);
        }

        var held = RuncMachineRuntime.HomeImageBytes(runtime);

        Assert.InRange(held, 1 << 20, 4 << 20);
        var measured = new HostResources(_data.Path, 1, () => held).MeasureStorage();
        Assert.Equal(held, measured.ImageBytes);
        Assert.InRange(measured.AvailableBytes, 1, new DriveInfo(_data.Path).TotalSize);
    }

    private Task<RunningServer> StartAsync(StorageCapacity storage, params string[] args) =>
        RunningServer.StartAsync(_data.Path, extraArgs: args, services: services =>
        {
            services.RemoveAll<IHostResources>();
            services.AddSingleton<IHostResources>(new FixedHostResources(64, 1 << 20, storage));
        });

    private static string Machine(long storageGib) => $$"""{"vcpu":0.25,"memory_mib":128,"storage_gib":{{storageGib}}}""";

    private static void AssertInsufficient(Response response, long requested, long committed, long capacity)
    {
        Assert.True(response.Status == HttpStatusCode.Conflict, response.ToString());
        var error = response.Error();
        Assert.Equal(ErrorCodes.InsufficientStorage, error.ErrorCode);
        Assert.False(error.Retryable);
        Assert.Equal(
            ($"{requested}", $"{committed}", $"{capacity}"),
            (error.Details!["requested_gib"], error.Details["committed_gib"], error.Details["capacity_gib"]));
        Assert.StartsWith($"the host cannot back {requested} GiB more storage: {committed} of the {capacity} GiB it can back are committed", error.Message, StringComparison.Ordinal);
        Assert.Equal("false", Assert.Single(response.Headers.GetValues("x-should-retry")));
    }
}
