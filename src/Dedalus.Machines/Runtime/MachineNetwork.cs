using System.Net;

namespace Dedalus.Machines.Runtime;

/// <summary>
/// A machine's network: its address (stable for the machine's life, kept across sleep and wake) and its egress policy.
/// </summary>
/// <param name="Address">The machine's IPv4 address, inside the runtime's machine subnet.</param>
/// <param name="Policy">What the machine may reach.</param>
public sealed record MachineNetwork(IPAddress Address, MachineNetworkPolicy Policy);

/// <summary>Whether a machine's outbound traffic leaves it at all.</summary>
public enum MachineEgress
{
    /// <summary>The public internet, minus the host's default deny list, plus <see cref="MachineNetworkPolicy.AllowCidrs"/>.</summary>
    Open,

    /// <summary>Nothing leaves the machine (the DNS forwarder neither).</summary>
    None,
}

/// <summary>
/// A machine's egress policy, evaluated in this order: <see cref="MachineEgress.None"/> refuses everything;
/// <see cref="DenyCidrs"/> refuse; <see cref="AllowCidrs"/> (and the operator's allow list) accept; the operator's
/// default deny list refuses; the rest is accepted. The host itself and other machines are refused whatever the policy
/// (except the DNS forwarder's port 53 while egress is open).
/// </summary>
public sealed record MachineNetworkPolicy(MachineEgress Egress, IReadOnlyList<IPNetwork> AllowCidrs, IReadOnlyList<IPNetwork> DenyCidrs)
{
    /// <summary>Open, no extra allow or deny.</summary>
    public static MachineNetworkPolicy Default { get; } = new(MachineEgress.Open, [], []);

    /// <inheritdoc />
    public bool Equals(MachineNetworkPolicy? other) =>
        other is not null && Egress == other.Egress && AllowCidrs.SequenceEqual(other.AllowCidrs) && DenyCidrs.SequenceEqual(other.DenyCidrs);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Egress);
        foreach (var cidr in AllowCidrs)
        {
            hash.Add(cidr);
        }

        hash.Add(-1);
        foreach (var cidr in DenyCidrs)
        {
            hash.Add(cidr);
        }

        return hash.ToHashCode();
    }
}
