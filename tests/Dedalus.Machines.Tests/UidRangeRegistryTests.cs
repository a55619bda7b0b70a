using System.Diagnostics;
using System.Globalization;
using Dedalus.Machines.Runc;

namespace Dedalus.Machines.Tests;

/// <summary>The host-wide registry of machine uid ranges, on real files, with a real flock held by another process.</summary>
public sealed class UidRangeRegistryTests : IDisposable
{
    private static readonly MachineUidPool Pool = new(0x4000_0000, 4);
    private readonly TempDirectory _temp = new("dedalus-uid-ranges-");

    private string Registry => _temp.Combine("registry");

    [Fact]
    public async Task Machines_get_the_lowest_free_range_once_each_and_a_claim_is_idempotent()
    {
        var registry = new UidRangeRegistry(Registry, Pool);
        var (one, two) = (MachineRoot("one"), MachineRoot("two"));

        var first = await registry.ClaimAsync(one, [], default);
        var second = await registry.ClaimAsync(two, [], default);

        Assert.Equal([Pool.BaseOf(0), Pool.BaseOf(1)], [first, second]);
        Assert.Equal(first, await new UidRangeRegistry(Registry, Pool).ClaimAsync(one, [], default));
        Assert.Equal(one, (await File.ReadAllTextAsync(Path.Combine(Registry, first.ToString(CultureInfo.InvariantCulture)))).Trim());
        Assert.Equal("700", Convert.ToString((int)File.GetUnixFileMode(Registry), 8));
    }

    [Fact]
    public async Task A_claim_whose_machine_is_gone_or_holds_another_range_is_handed_out_again()
    {
        var registry = new UidRangeRegistry(Registry, Pool);
        var gone = MachineRoot("gone");
        var moved = MachineRoot("moved");
        var reclaimed = await registry.ClaimAsync(gone, [], default);
        var second = await registry.ClaimAsync(moved, [], default);
        Directory.Delete(gone);
        await File.WriteAllTextAsync(Path.Combine(moved, "machine.json"), $$"""{"machine_id":"moved","vcpu":1,"memory_mib":64,"storage_gib":1,"uid_base":{{Pool.BaseOf(3)}}}""");

        Assert.Equal(reclaimed, await registry.ClaimAsync(MachineRoot("new"), [], default));
        Assert.Equal(second, await registry.ClaimAsync(MachineRoot("newer"), [], default));
    }

    [Fact]
    public async Task The_ranges_a_runtime_knows_from_its_records_are_never_handed_out_even_when_the_registry_was_lost()
    {
        var registry = new UidRangeRegistry(Registry, Pool);
        var known = MachineRoot("known");

        var claimed = await registry.ClaimAsync(MachineRoot("fresh"), [(known, Pool.BaseOf(0))], default);

        Assert.Equal(Pool.BaseOf(1), claimed);
        Assert.Equal(known, (await File.ReadAllTextAsync(Path.Combine(Registry, Pool.BaseOf(0).ToString(CultureInfo.InvariantCulture)))).Trim());
    }

    [Fact]
    public async Task An_exhausted_pool_is_a_clear_error_and_a_release_frees_a_range_for_the_next()
    {
        var registry = new UidRangeRegistry(Registry, Pool);
        var roots = Enumerable.Range(0, Pool.Slots).Select(i => MachineRoot($"m{i}")).ToList();
        foreach (var root in roots)
        {
            await registry.ClaimAsync(root, [], default);
        }

        var full = await Assert.ThrowsAsync<MachineRuntimeException>(() => registry.ClaimAsync(MachineRoot("one-too-many"), [], default));
        Assert.Contains($"every uid range of {Pool} (4 machines) is in use", full.Message, StringComparison.Ordinal);

        await registry.ReleaseAsync(MachineRoot("not-the-holder"), Pool.BaseOf(2), default);
        await registry.ReleaseAsync(roots[2], Pool.BaseOf(2), default);
        Assert.Equal(Pool.BaseOf(2), await registry.ClaimAsync(MachineRoot("one-too-many"), [], default));
    }

    [Fact]
    public async Task A_claim_waits_for_another_process_holding_the_registry_lock()
    {
        Directory.CreateDirectory(Registry);
        using var holder = Process.Start(new ProcessStartInfo("flock", [Path.Combine(Registry, ".lock"), "-c", "echo held; read -r _"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        })!;
        Assert.Equal("held", await holder.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));

        var claim = new UidRangeRegistry(Registry, Pool).ClaimAsync(MachineRoot("waiting"), [], default);
        await Task.Delay(300);
        Assert.False(claim.IsCompleted, "the claim went ahead while another process held the lock");
        holder.StandardInput.Close();
        Assert.Equal(Pool.BaseOf(0), await claim.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(holder.HasExited || holder.WaitForExit(30_000));
    }

    [Theory]
    [InlineData("1073741824-1610612735", 1073741824, 8192)]
    [InlineData("262144-327679", 262144, 1)]
    [InlineData("1073741824-1073872895", 1073741824, 2)]
    public void Pools_parse_from_first_and_last_uid(string text, int first, int slots)
    {
        Assert.True(MachineUidPool.TryParse(text, out var pool, out var error), error);
        Assert.Equal(new MachineUidPool(first, slots), pool);
    }

    [Theory]
    [InlineData("1073741824", "must be FIRST-LAST")]
    [InlineData("100000-165535", "FIRST must be a multiple of 65536 from 262144 on")]
    [InlineData("1073741825-1610612735", "FIRST must be a multiple of 65536")]
    [InlineData("1073741824-1073741825", "at least one range of 65536 uids")]
    [InlineData("1073741824-4294967295", "end at 2147483647 at most")]
    public void Bad_pools_are_refused_with_the_reason(string text, string reason)
    {
        Assert.False(MachineUidPool.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    private string MachineRoot(string name)
    {
        var root = _temp.Combine("machines", name);
        Directory.CreateDirectory(root);
        return root;
    }

    public void Dispose() => _temp.Dispose();
}
