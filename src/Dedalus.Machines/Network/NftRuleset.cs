using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Network;

/// <summary>A machine with a network, as the rules see it.</summary>
internal sealed record NetworkedMachine(string MachineId, MachineNetwork Network);

/// <summary>
/// Renders an instance's whole nft table (nft(8), family inet) from state: every machine that has a network, running
/// or not. Applied as one <c>nft -f</c> transaction that creates the table if missing, deletes it and defines it again,
/// so that applying twice is applying once and no rule is ever duplicated; no other table is touched.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>prerouting</c> (raw priority, before connection tracking): from a machine's host veth only IPv4 with the
/// machine's own source address (anti-spoofing; machines have no IPv6).</item>
/// <item><c>input</c>: from machines only DNS (udp and tcp 53) to the gateway address, for machines whose egress is
/// open, and replies; every other host address and port (loopback services, the API) refused. The gateway address
/// takes nothing from any other interface but loopback.</item>
/// <item><c>forward</c>: from each machine its egress policy (a chain per machine, chosen by a verdict map on the
/// input interface): egress none refuses all; the machine subnet (other machines) and host addresses always; then its
/// deny list, its and the operator's allow lists (accept), the operator's default deny list, and accept. Towards
/// machines only replies. While Dedalus turned IP forwarding on, anything forwarded that neither comes from nor goes
/// to a machine veth (of any instance: the <see cref="NetworkNames.MachineLinkGroup"/> interface group) is dropped, so
/// nothing else on the host starts being routed.</item>
/// <item><c>output</c>: towards machines only TCP from the gateway address by root (the SSH gateway's connections)
/// and replies.</item>
/// <item><c>postrouting</c>: machine traffic leaving through any other interface is masqueraded.</item>
/// </list>
/// Refusals reject (TCP reset, else ICMP administratively prohibited) rather than drop, so that a program inside sees
/// "refused" at once instead of waiting for a timeout. IPv6 networks in the lists are ignored: machines have no IPv6.
/// </remarks>
internal static class NftRuleset
{
    public static string Render(MachineNetworkOptions options, NetworkNames names, IReadOnlyList<NetworkedMachine> machines, bool scopeForwarding)
    {
        var gateway = options.GatewayAddress.ToString();
        var text = new StringBuilder();
        var table = names.Table;
        Line(text, 0, $"table inet {table} {{}}");
        Line(text, 0, $"delete table inet {table}");
        Line(text, 0, $"table inet {table} {{");

        var links = machines.Select(m => Quote(names.HostLink(m.MachineId))).ToList();
        var dnsLinks = machines.Where(m => m.Network.Policy.Egress == MachineEgress.Open).Select(m => Quote(names.HostLink(m.MachineId))).ToList();
        var sources = machines.Select(m => $"{Quote(names.HostLink(m.MachineId))} . {m.Network.Address}").ToList();
        Set(text, "machine_links", "ifname", links);
        Set(text, "dns_links", "ifname", dnsLinks);
        Set(text, "machine_sources", "ifname . ipv4_addr", sources);

        Chain(text, "prerouting", "type filter hook prerouting priority raw; policy accept;",
            "iifname @machine_links meta nfproto != ipv4 drop",
            "iifname @machine_links iifname . ip saddr != @machine_sources drop");
        Chain(text, "refuse", null,
            "meta l4proto tcp reject with tcp reset",
            "reject with icmpx admin-prohibited");
        Chain(text, "machine_to_host", null,
            "ct state established,related accept",
            $"iifname @dns_links ip daddr {gateway} udp dport 53 accept",
            $"iifname @dns_links ip daddr {gateway} tcp dport 53 accept",
            "goto refuse");
        Chain(text, "input", "type filter hook input priority filter; policy accept;",
            "iifname @machine_links goto machine_to_host",
            $"iifname != \"lo\" ip daddr {gateway} drop");

        var subnet = options.Subnet.ToString();
        var defaultDeny = Ipv4Set(options.DefaultDenyCidrs);
        foreach (var machine in machines)
        {
            var policy = machine.Network.Policy;
            var rules = new List<string>();
            if (policy.Egress == MachineEgress.None)
            {
                rules.Add("goto refuse");
            }
            else
            {
                rules.Add($"ip daddr {subnet} goto refuse");
                rules.Add("fib daddr type local goto refuse");
                if (Ipv4Set(policy.DenyCidrs) is { } deny)
                {
                    rules.Add($"ip daddr {deny} goto refuse");
                }

                if (Ipv4Set([.. policy.AllowCidrs, .. options.AllowCidrs]) is { } allow)
                {
                    rules.Add($"ip daddr {allow} accept");
                }

                if (defaultDeny is not null)
                {
                    rules.Add($"ip daddr {defaultDeny} goto refuse");
                }

                rules.Add("accept");
            }

            Chain(text, "egress_" + names.ChainSuffix(machine.MachineId), null, [.. rules]);
        }

        var forward = new List<string>();
        if (machines.Count > 0)
        {
            var map = string.Join(", ", machines.Select(m => $"{Quote(names.HostLink(m.MachineId))} : goto egress_{names.ChainSuffix(m.MachineId)}"));
            forward.Add($"iifname vmap {{ {map} }}");
        }

        forward.Add("oifname @machine_links ct state established,related accept");
        forward.Add("oifname @machine_links drop");
        if (scopeForwarding)
        {
            forward.Add(string.Create(
                CultureInfo.InvariantCulture, $"iifgroup != {NetworkNames.MachineLinkGroup} oifgroup != {NetworkNames.MachineLinkGroup} drop"));
        }

        Chain(text, "forward", "type filter hook forward priority filter; policy accept;", [.. forward]);
        Chain(text, "to_machine", null,
            "ct state established,related accept",
            $"meta l4proto tcp ip saddr {gateway} meta skuid 0 accept",
            "drop");
        Chain(text, "output", "type filter hook output priority filter; policy accept;",
            "oifname @machine_links goto to_machine");
        Chain(text, "postrouting", "type nat hook postrouting priority srcnat; policy accept;",
            "iifname @machine_links oifname != @machine_links masquerade");
        Line(text, 0, "}");
        return text.ToString();
    }

    /// <summary>
    /// The IPv4 networks as an anonymous nft set, those inside another left out (nft refuses overlapping intervals);
    /// null when there is none.
    /// </summary>
    public static string? Ipv4Set(IEnumerable<IPNetwork> networks)
    {
        var v4 = networks.Where(n => n.BaseAddress.AddressFamily == AddressFamily.InterNetwork).Distinct().ToList();
        var kept = v4.Where(n => !v4.Any(o => !o.Equals(n) && o.PrefixLength <= n.PrefixLength && o.Contains(n.BaseAddress)))
            .OrderBy(n => n.BaseAddress.GetAddressBytes(), ByteOrder.Instance)
            .ThenBy(n => n.PrefixLength)
            .Select(n => n.ToString())
            .ToList();
        return kept.Count == 0 ? null : $"{{ {string.Join(", ", kept)} }}";
    }

    private static void Set(StringBuilder text, string name, string type, IReadOnlyList<string> elements)
    {
        Line(text, 1, $"set {name} {{");
        Line(text, 2, $"type {type}");
        if (elements.Count > 0)
        {
            Line(text, 2, $"elements = {{ {string.Join(", ", elements)} }}");
        }

        Line(text, 1, "}");
    }

    private static void Chain(StringBuilder text, string name, string? hook, params string[] rules)
    {
        Line(text, 1, $"chain {name} {{");
        if (hook is not null)
        {
            Line(text, 2, hook);
        }

        foreach (var rule in rules)
        {
            Line(text, 2, rule);
        }

        Line(text, 1, "}");
    }

    private static string Quote(string name) => $"\"{name}\"";

    private static void Line(StringBuilder text, int depth, string line) => text.Append('\t', depth).Append(line).Append('\n');

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => ((ReadOnlySpan<byte>)x).SequenceCompareTo(y);
    }
}
