using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Dedalus.Testing.Network;

namespace Dedalus.Machines.Tests;

/// <summary>
/// Machines with a network, from inside (bash's /dev/tcp, getent, busybox): outbound through NAT and the DNS forwarder
/// to the test's "internet" namespace; the host, other machines, private and link-local addresses refused; the policy
/// changed live; root inside unable to escape it. Every packet stays on this host (see <see cref="InternetNamespace"/>).
/// </summary>
public sealed class MachineNetworkTests(MachineNetworkFixture fixture) : IClassFixture<MachineNetworkFixture>
{
    private InternetNamespace Internet => fixture.Internet;

    [Fact]
    public async Task A_machine_reaches_the_internet_through_nat_and_resolves_names_through_the_forwarder()
    {
        var (id, address) = await fixture.StartMachineAsync(1);

        Assert.Equal(Internet.HostLinkAddress, await HttpGetAsync(id, Internet.Address));
        Assert.NotEqual(address, Internet.HostLinkAddress);
        var resolved = await Tools.BashCheckedAsync(fixture.Runtime, id, $"getent hosts {InternetNamespace.TestName}");
        Assert.StartsWith(Internet.Address + " ", resolved, StringComparison.Ordinal);
        Assert.Equal($"nameserver {fixture.Slot.GatewayAddress}", await Tools.BashCheckedAsync(fixture.Runtime, id, "cat /etc/resolv.conf"));
        Assert.Contains($"{address}/32", await Tools.BashCheckedAsync(fixture.Runtime, id, "busybox ip -4 addr show dev eth0"), StringComparison.Ordinal);
        Assert.True(await PingsAsync(id, Internet.Address), "no echo reply from the internet");
        Assert.Equal("lo", (await Tools.BashCheckedAsync(fixture.Runtime, id, "ls /sys/class/net | grep -v eth0")).Trim());
    }

    [Fact]
    public async Task The_host_other_machines_private_and_link_local_addresses_are_refused()
    {
        var (id, _) = await fixture.StartMachineAsync(2);
        var (_, other) = await fixture.StartMachineAsync(3);
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        // The host itself reaches the listener on each of these addresses; the machine reaches none.
        foreach (var hostAddress in new[] { fixture.Slot.GatewayAddress, Internet.HostLinkAddress, "192.0.2.2" })
        {
            using (var client = new TcpClient())
            {
                await client.ConnectAsync(IPAddress.Parse(hostAddress), port).WaitAsync(TimeSpan.FromSeconds(30));
            }

            Assert.False(await ConnectsAsync(id, hostAddress, port), $"the machine reached the host's listener on {hostAddress}");
        }

        Assert.False(await ConnectsAsync(id, "127.0.0.1", port), "the machine reached the host's loopback listener");
        Assert.False(await ConnectsAsync(id, fixture.Slot.GatewayAddress, 22), "the machine reached the host's port 22");
        Assert.False(await ConnectsAsync(id, other, 22), "the machine reached another machine");
        Assert.False(await ConnectsAsync(id, InternetNamespace.PrivateAddress, 80), "the machine reached a private address");
        Assert.False(await ConnectsAsync(id, InternetNamespace.MetadataAddress, 80), "the machine reached the metadata address");
        Assert.True(await ConnectsAsync(id, Internet.Address, 80), "the machine lost the internet");
    }

    [Fact]
    public async Task Allow_cidrs_open_a_private_range_on_a_running_machine_and_removing_them_closes_it_again()
    {
        var (id, address) = await fixture.StartMachineAsync(4);
        Assert.False(await ConnectsAsync(id, InternetNamespace.PrivateAddress, 80));

        var allowed = new MachineNetworkPolicy(MachineEgress.Open, [IPNetwork.Parse("10.99.0.0/24")], []);
        await fixture.Runtime.ConfigureNetworkAsync(id, new MachineNetwork(IPAddress.Parse(address), allowed));
        Assert.Equal(Internet.HostLinkAddress, await HttpGetAsync(id, InternetNamespace.PrivateAddress));
        Assert.False(await ConnectsAsync(id, InternetNamespace.MetadataAddress, 80));

        var denied = new MachineNetworkPolicy(MachineEgress.Open, [IPNetwork.Parse("10.99.0.0/24")], [IPNetwork.Parse("198.51.100.0/24")]);
        await fixture.Runtime.ConfigureNetworkAsync(id, new MachineNetwork(IPAddress.Parse(address), denied));
        Assert.False(await ConnectsAsync(id, Internet.Address, 80), "deny_cidrs did not refuse");
        Assert.True(await ConnectsAsync(id, InternetNamespace.PrivateAddress, 80));

        await fixture.Runtime.ConfigureNetworkAsync(id, new MachineNetwork(IPAddress.Parse(address), MachineNetworkPolicy.Default));
        Assert.False(await ConnectsAsync(id, InternetNamespace.PrivateAddress, 80), "the private range stayed open");
        Assert.True(await ConnectsAsync(id, Internet.Address, 80));
    }

    [Fact]
    public async Task Egress_none_refuses_everything_dns_included_and_open_gives_it_back_live()
    {
        var none = new MachineNetworkPolicy(MachineEgress.None, [IPNetwork.Parse("10.99.0.0/24")], []);
        var (id, address) = await fixture.StartMachineAsync(5, none);

        Assert.False(await ConnectsAsync(id, Internet.Address, 80));
        Assert.False(await ConnectsAsync(id, InternetNamespace.PrivateAddress, 80));
        Assert.NotEqual(0, (await Tools.BashAsync(fixture.Runtime, id, $"timeout 20 getent hosts {InternetNamespace.TestName}")).ExitCode);

        await fixture.Runtime.ConfigureNetworkAsync(id, new MachineNetwork(IPAddress.Parse(address), MachineNetworkPolicy.Default));
        Assert.True(await ConnectsAsync(id, Internet.Address, 80));
        await Tools.BashCheckedAsync(fixture.Runtime, id, $"getent hosts {InternetNamespace.TestName}");
    }

    [Fact]
    public async Task Two_machines_cannot_reach_each_other_in_either_direction()
    {
        var (first, firstAddress) = await fixture.StartMachineAsync(6);
        var (second, secondAddress) = await fixture.StartMachineAsync(7);
        foreach (var (from, to) in new[] { (first, secondAddress), (second, firstAddress) })
        {
            // A listener on the target, so that a refusal is the policy's, not an empty port's.
            var target = from == first ? second : first;
            await using var listening = await ListenInsideAsync(target, 8080);
            Assert.False(await ConnectsAsync(from, to, 8080), $"{from} reached {to}");
            Assert.False(await PingsAsync(from, to), $"{from} pinged {to}");
            Assert.True(await ConnectsAsync(target, "127.0.0.1", 8080), "the listener inside does not listen");
        }
    }

    [Fact]
    public async Task Root_inside_cannot_change_its_address_routes_links_sysctls_or_rules_and_the_policy_holds()
    {
        var (id, _) = await fixture.StartMachineAsync(8);
        string[] attempts =
        [
            $"busybox ip addr add {fixture.Slot.MachineAddress(99)}/32 dev eth0",
            "busybox ip route replace default via 10.99.0.1 dev eth0 onlink",
            $"busybox ip route add {InternetNamespace.PrivateAddress}/32 dev eth0",
            "busybox ip link set eth0 down",
            "busybox ip link set eth0 address 02:00:00:00:00:01",
            "sysctl -w net.ipv4.ip_forward=1",
            "echo 1 > /proc/sys/net/ipv4/conf/all/forwarding",
            $"busybox arping -c 1 -I eth0 {fixture.Slot.GatewayAddress}",
        ];
        foreach (var attempt in attempts)
        {
            var result = await Tools.BashAsync(fixture.Runtime, id, attempt);
            Assert.True(result.ExitCode != 0, $"root inside could: {attempt}: {result}");
        }

        // Stronger than root inside: every capability of the machine's user namespace (CAP_NET_ADMIN and CAP_NET_RAW,
        // outside root's bounding set) in its network namespace. It can change its own side, and gains nothing: the host
        // side drops a spoofed source and refuses what the policy refuses whatever the machine's routes say.
        var pid = await InitPidAsync(id);
        var spoofed = fixture.Slot.MachineAddress(98);
        var rulesBefore = await RuleLinesAsync();
        await NsenterCheckedAsync(pid, "ip", "addr", "add", $"{spoofed}/32", "dev", "eth0");
        await NsenterCheckedAsync(pid, "ip", "route", "add", $"{InternetNamespace.PrivateAddress}/32", "dev", "eth0");
        await NsenterCheckedAsync(pid, "nft", "add", "table", "inet", "escape");
        try
        {
            var fromSpoofed = await ProcessRunner.RunAsync(
                "nsenter", ["--target", pid, "--net", "--user", "--setuid", "0", "--setgid", "0", "python3", "-c",
                    $"import socket\ns=socket.socket()\ns.settimeout(5)\ns.bind(('{spoofed}',0))\ns.connect(('{Internet.Address}',80))"]);
            Assert.True(fromSpoofed.ExitCode != 0, $"a spoofed source got through: {fromSpoofed}");
            Assert.False(await ConnectsAsync(id, InternetNamespace.PrivateAddress, 80), "a route of its own opened a private address");
            Assert.Equal(rulesBefore, await RuleLinesAsync());
        }
        finally
        {
            await NsenterCheckedAsync(pid, "ip", "addr", "del", $"{spoofed}/32", "dev", "eth0");
            await NsenterCheckedAsync(pid, "ip", "route", "del", $"{InternetNamespace.PrivateAddress}/32", "dev", "eth0");
        }

        Assert.Contains(",UP,", await Tools.BashCheckedAsync(fixture.Runtime, id, "busybox ip link show eth0"), StringComparison.Ordinal);
        Assert.False(await ConnectsAsync(id, InternetNamespace.PrivateAddress, 80));
        Assert.Equal(Internet.HostLinkAddress, await HttpGetAsync(id, Internet.Address));
    }

    [Fact]
    public async Task Sleep_and_wake_keep_the_address_and_the_connectivity()
    {
        var (id, address) = await fixture.StartMachineAsync(9);
        await fixture.Runtime.StopAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.DoesNotContain(NetNs.List(), n => n.EndsWith(id, StringComparison.Ordinal));

        await fixture.Runtime.StartAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.Contains($"{address}/32", await Tools.BashCheckedAsync(fixture.Runtime, id, "busybox ip -4 addr show dev eth0"), StringComparison.Ordinal);
        Assert.Equal(Internet.HostLinkAddress, await HttpGetAsync(id, Internet.Address));
    }

    [Fact]
    public async Task A_restarted_runtime_restores_a_missing_link_keeps_connectivity_and_duplicates_no_rule_or_forwarder()
    {
        var (id, address) = await fixture.StartMachineAsync(10);
        var rulesBefore = await RuleLinesAsync();
        var link = await HostLinkOfAsync(address);
        await Tools.CheckedAsync("ip", "link", "del", link);

        var restarted = fixture.NewRuntime();
        await restarted.RestoreNetworkAsync().WaitAsync(MachineRuntimeFixture.Timeout);
        await restarted.RestoreNetworkAsync().WaitAsync(MachineRuntimeFixture.Timeout);

        Assert.Equal(Internet.HostLinkAddress, await HttpGetAsync(id, Internet.Address));
        Assert.Equal(rulesBefore, await RuleLinesAsync());
        Assert.Single(NetNs.ProcessesWithArgument($"--listen-address={fixture.Slot.GatewayAddress}"));
        await Tools.BashCheckedAsync(restarted, id, $"getent hosts {InternetNamespace.TestName}");
    }

    [Fact]
    public async Task Deletion_and_shutdown_leave_no_link_namespace_table_bridge_or_forwarder()
    {
        var (id, address) = await fixture.StartMachineAsync(11);
        var link = await HostLinkOfAsync(address);
        await fixture.Runtime.DeleteAsync(id).WaitAsync(MachineRuntimeFixture.Timeout);
        Assert.False(Directory.Exists("/sys/class/net/" + link), $"{link} is left");
        Assert.DoesNotContain(NetNs.List(), n => n.EndsWith(id, StringComparison.Ordinal));
        Assert.DoesNotContain(await RuleLinesAsync(), line => line.Contains(link, StringComparison.Ordinal));

        // Other machines of this class may still run: shut down only when none does, as the server does.
        foreach (var other in await fixture.Runtime.ListAsync())
        {
            await fixture.Runtime.StopAsync(other).WaitAsync(MachineRuntimeFixture.Timeout);
        }

        await fixture.Runtime.ShutdownNetworkAsync().WaitAsync(MachineRuntimeFixture.Timeout);
        await fixture.Runtime.ShutdownNetworkAsync().WaitAsync(MachineRuntimeFixture.Timeout);
        var tables = await Tools.CheckedAsync("nft", "list", "tables");
        Assert.DoesNotContain($"dedalus_{fixture.Slot.Instance}", tables.StandardOutput, StringComparison.Ordinal);
        Assert.False(Directory.Exists($"/sys/class/net/dedalus-{fixture.Slot.Instance}"));
        Assert.DoesNotContain(NetNs.List(), n => n.StartsWith($"dedalus-{fixture.Slot.Instance}-", StringComparison.Ordinal));
        Assert.True(await Eventually.TrueAsync(() => NetNs.ProcessesWithArgument($"--listen-address={fixture.Slot.GatewayAddress}").Count == 0));
    }

    private async Task<bool> ConnectsAsync(string machineId, string address, int port)
    {
        var result = await Tools.BashAsync(
            fixture.Runtime, machineId, $"timeout 10 bash -c 'exec 3<>/dev/tcp/{address}/{port.ToString(CultureInfo.InvariantCulture)}'");
        return result.ExitCode == 0;
    }

    /// <summary>GET / from inside the machine: the body (the client address the server saw).</summary>
    private async Task<string> HttpGetAsync(string machineId, string address)
    {
        var output = await Tools.BashCheckedAsync(
            fixture.Runtime,
            machineId,
            $"timeout 20 bash -c 'exec 3<>/dev/tcp/{address}/80; printf \"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n\" >&3; cat <&3'");
        return output.Split('\n').Last().Trim();
    }

    private async Task<TestProcess> ListenInsideAsync(string machineId, int port)
    {
        var pid = await InitPidAsync(machineId);
        var process = TestProcess.Start(
            "nsenter", ["--target", pid, "--net", "--user", "--setuid", "0", "--setgid", "0", "python3", "-c",
                $"import socket,time\ns=socket.socket()\ns.bind(('0.0.0.0',{port}))\ns.listen()\nwhile True: c,_=s.accept(); c.close()"],
            drainOutput: true);
        Assert.True(await Eventually.TrueAsync(async () => await ConnectsAsync(machineId, "127.0.0.1", port)), "the listener did not start");
        return process;
    }

    /// <summary>
    /// One ICMP echo from inside the machine through an ICMP datagram socket (what ping_group_range allows; the
    /// machine's busybox ping wants a raw socket), from the host's python3 in the machine's namespaces.
    /// </summary>
    private async Task<bool> PingsAsync(string machineId, string address)
    {
        const string Script = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
            s.settimeout(5)
            s.sendto(b"\x08\x00\x00\x00\x00\x00\x00\x01dedalus", (sys.argv[1], 0))
            try:
                data, _ = s.recvfrom(1024)
            except OSError:
                sys.exit(1)
            sys.exit(0 if data[0] == 0 else 1)
            """;
        var pid = await InitPidAsync(machineId);
        var result = await ProcessRunner.RunAsync(
            "nsenter", ["--target", pid, "--net", "--user", "--setuid", "0", "--setgid", "0", "python3", "-c", Script, address]);
        return result.ExitCode == 0;
    }

    private static async Task NsenterCheckedAsync(string pid, params string[] arguments) =>
        await Tools.CheckedAsync("nsenter", ["--target", pid, "--net", "--user", "--setuid", "0", "--setgid", "0", .. arguments]);

    private async Task<string> InitPidAsync(string machineId)
    {
        var state = await Tools.CheckedAsync("runc", "--root", fixture.Options.RuncRoot, "state", machineId);
        using var document = System.Text.Json.JsonDocument.Parse(state.StandardOutput);
        return document.RootElement.GetProperty("pid").GetInt32().ToString(CultureInfo.InvariantCulture);
    }

    private static async Task<string> HostLinkOfAsync(string address)
    {
        var route = await Tools.CheckedAsync("ip", "-o", "route", "show", $"{address}/32");
        var fields = route.StandardOutput.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields[Array.IndexOf(fields, "dev") + 1];
    }

    private async Task<string[]> RuleLinesAsync()
    {
        var table = await Tools.CheckedAsync("nft", "list", "table", "inet", $"dedalus_{fixture.Slot.Instance}");
        return [.. table.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }
}
