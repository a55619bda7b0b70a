using System.Globalization;

namespace Dedalus.Testing.Network;

/// <summary>
/// One of 64 host-wide slots for a test that builds machine networking, held (an exclusive flock on
/// <c>/run/dedalus-test-network/slot-N.lock</c>) until disposed or until the process dies, so that test processes
/// running side by side never share an instance name, a machine subnet, an "internet" link or a routing table.
/// Slot N: runtime instance <c>tnNN</c>, machine subnet <c>10.208.N.0/24</c>, "internet" link <c>198.51.100.4N/30</c>, routing table and rule priorities from 2100 + 2N.
/// Acquiring a slot removes whatever a crashed earlier holder left: its nft table, namespaces, links, rules, processes.
/// </summary>
public sealed class NetworkTestSlot : IDisposable
{
    public const int Count = 64;

    private const string Directory = "/run/dedalus-test-network";

    private readonly FileStream _lock;

    private NetworkTestSlot(int index, FileStream held)
    {
        Index = index;
        _lock = held;
    }

    public int Index { get; }

    /// <summary>The runtime instance name (<c>MachineNetworkOptions.Instance</c>).</summary>
    public string Instance => "tn" + Index.ToString("00", CultureInfo.InvariantCulture);

    /// <summary>The machine subnet, <c>10.208.N.0/24</c>.</summary>
    public string MachineSubnet => $"10.208.{N}.0/24";

    /// <summary>The gateway address of the machines (the subnet's first).</summary>
    public string GatewayAddress => $"10.208.{N}.1";

    /// <summary>A machine address in the subnet: <c>10.208.N.(10 + k)</c>.</summary>
    public string MachineAddress(int k) => $"10.208.{N}.{(10 + k).ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The "internet" namespace's own address on its link to the host.</summary>
    public string InternetAddress => $"198.51.100.{(Index * 4) + 2}";

    /// <summary>The host's address on that link.</summary>
    public string HostLinkAddress => $"198.51.100.{(Index * 4) + 1}";

    /// <summary>The link's prefix.</summary>
    public string LinkPrefix => $"198.51.100.{Index * 4}/30";

    /// <summary>The "internet" namespace's name.</summary>
    public string InternetNamespace => $"dedalus-test-inet{N}";

    /// <summary>The host side of the link to it.</summary>
    public string InternetLink => $"dti{N}";

    /// <summary>The routing table that sends the machines' traffic to the "internet" namespace only.</summary>
    public int RoutingTable => 2100 + Index;

    /// <summary>The first of the two policy rule priorities.</summary>
    public int RulePriority => 2100 + (2 * Index);

    private string N => Index.ToString(CultureInfo.InvariantCulture);

    /// <summary>Takes a free slot (waits up to 2 minutes when all are held) and cleans what an earlier holder left.</summary>
    public static async Task<NetworkTestSlot> AcquireAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        var start = Random.Shared.Next(Count);
        while (true)
        {
            for (var i = 0; i < Count; i++)
            {
                var index = (start + i) % Count;
                try
                {
                    var held = new FileStream(
                        Path.Combine(Directory, $"slot-{index.ToString(CultureInfo.InvariantCulture)}.lock"),
                        FileMode.OpenOrCreate,
                        FileAccess.ReadWrite,
                        FileShare.None);
                    var slot = new NetworkTestSlot(index, held);
                    await slot.CleanAsync();
                    return slot;
                }
                catch (IOException)
                {
                    // Held by another test process.
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"all {Count} network test slots stayed held for 2 minutes");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>
    /// Removes everything of this slot: the "internet" namespace (its processes killed), link, rules and table, and the
    /// runtime instance's nft table, namespaces, bridge and DNS forwarder. Safe to call when nothing is there.
    /// </summary>
    public async Task CleanAsync()
    {
        foreach (var ns in NetNs.List().Where(n => n == InternetNamespace || n.StartsWith($"dedalus-{Instance}-", StringComparison.Ordinal)))
        {
            await NetNs.KillProcessesAsync(ns);
            await ProcessRunner.RunAsync("ip", "netns", "del", ns);
        }

        foreach (var link in new[] { InternetLink, $"dedalus-{Instance}" })
        {
            if (System.IO.Directory.Exists("/sys/class/net/" + link))
            {
                await ProcessRunner.RunAsync("ip", "link", "del", link);
            }
        }

        foreach (var priority in new[] { RulePriority, RulePriority + 1 })
        {
            while ((await ProcessRunner.RunAsync("ip", "rule", "del", "priority", priority.ToString(CultureInfo.InvariantCulture))).ExitCode == 0)
            {
            }
        }

        await ProcessRunner.RunAsync("ip", "route", "flush", "table", RoutingTable.ToString(CultureInfo.InvariantCulture));
        await ProcessRunner.RunAsync("nft", "delete", "table", "inet", $"dedalus_{Instance}");
        foreach (var pid in NetNs.ProcessesWithArgument($"--listen-address={GatewayAddress}"))
        {
            await ProcessRunner.RunAsync("kill", "-KILL", pid.ToString(CultureInfo.InvariantCulture));
        }
    }

    public void Dispose() => _lock.Dispose();
}
