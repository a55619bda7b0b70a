using System.Net;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Errors;

namespace Dedalus.Server.Networking;

/// <summary>
/// The <c>network</c> object of a machine request (our extension): checked field by field (a 400 names the field and
/// the entry), merged onto a machine's policy on update, kept in the store as JSON, and shown on the wire.
/// </summary>
public static class NetworkPolicies
{
    /// <summary>Most entries in each of <c>allow_cidrs</c> and <c>deny_cidrs</c>.</summary>
    public const int MaxCidrs = 64;

    /// <summary>
    /// The policy a request's <c>network</c> asks for over <paramref name="current"/>: each field given replaces that
    /// field, absent ones stay. Null when <paramref name="request"/> is null.
    /// </summary>
    /// <exception cref="DomainException">A field is not valid (400 naming it).</exception>
    public static MachineNetworkPolicy? Apply(MachineNetworkSettings? request, MachineNetworkPolicy current)
    {
        if (request is null)
        {
            return null;
        }

        if (request.Address is not null)
        {
            throw DomainException.InvalidRequest("network.address is assigned by the server and cannot be set", "network.address");
        }

        var egress = request.Egress switch
        {
            null => current.Egress,
            EgressModes.Open => MachineEgress.Open,
            EgressModes.None => MachineEgress.None,
            _ => throw DomainException.InvalidRequest(
                $"network.egress must be \"{EgressModes.Open}\" or \"{EgressModes.None}\", not \"{Shown(request.Egress)}\"", "network.egress"),
        };
        return new MachineNetworkPolicy(
            egress,
            request.AllowCidrs is null ? current.AllowCidrs : ParseCidrs(request.AllowCidrs, "network.allow_cidrs"),
            request.DenyCidrs is null ? current.DenyCidrs : ParseCidrs(request.DenyCidrs, "network.deny_cidrs"));
    }

    /// <summary>The policy kept in the store (null: the default).</summary>
    public static MachineNetworkPolicy FromStored(string? json)
    {
        if (json is null)
        {
            return MachineNetworkPolicy.Default;
        }

        var settings = JsonSerializer.Deserialize(json, DedalusJsonContext.Default.MachineNetworkSettings)
            ?? throw new InvalidDataException("a machine's stored network policy is null");
        return Apply(settings, MachineNetworkPolicy.Default) ?? MachineNetworkPolicy.Default;
    }

    /// <summary>What the store keeps of a policy: null for the default.</summary>
    public static string? ToStored(MachineNetworkPolicy policy) =>
        policy.Equals(MachineNetworkPolicy.Default)
            ? null
            : JsonSerializer.Serialize(ToWire(policy, address: null), DedalusJsonContext.Default.MachineNetworkSettings);

    /// <summary>The wire form, with the machine's address when it has one.</summary>
    public static MachineNetworkSettings ToWire(MachineNetworkPolicy policy, string? address) => new(
        policy.Egress == MachineEgress.None ? EgressModes.None : EgressModes.Open,
        [.. policy.AllowCidrs.Select(c => c.ToString())],
        [.. policy.DenyCidrs.Select(c => c.ToString())],
        address);

    private static List<IPNetwork> ParseCidrs(IReadOnlyList<string> texts, string field)
    {
        if (texts.Count > MaxCidrs)
        {
            throw DomainException.InvalidRequest($"{field} holds {texts.Count} entries; at most {MaxCidrs}", field);
        }

        var cidrs = new List<IPNetwork>(texts.Count);
        for (var i = 0; i < texts.Count; i++)
        {
            var text = texts[i];
            var at = $"{field}[{i}]";
            if (text is null)
            {
                throw DomainException.InvalidRequest($"{at} is null; expected a CIDR such as 203.0.113.0/24", at);
            }

            if (!TryParseExact(text.Trim(), out var cidr))
            {
                throw DomainException.InvalidRequest($"{at} \"{Shown(text)}\" is not a CIDR{Hint(text)}", at);
            }

            if (!cidrs.Contains(cidr))
            {
                cidrs.Add(cidr);
            }
        }

        return cidrs;
    }

    /// <summary>
    /// A CIDR whose host bits are zero: .NET's parser masks "10.1.2.3/8" into 10.0.0.0/8 silently, and a range wider
    /// than its writer meant is not what a policy should get. The server's own options use this too.
    /// </summary>
    public static bool TryParseExact(string text, out IPNetwork cidr)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return IPNetwork.TryParse(text, out cidr) && slash > 0 && IPAddress.TryParse(text.AsSpan(0, slash), out var address)
            && address.Equals(cidr.BaseAddress);
    }

    /// <summary>"10.1.2.3/8" fails because of its host bits: say which network was probably meant.</summary>
    private static string Hint(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && IPAddress.TryParse(text.AsSpan(0, slash), out var address)
            && int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var prefix)
            && prefix >= 0 && prefix <= (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128))
        {
            var bytes = address.GetAddressBytes();
            for (var bit = prefix; bit < bytes.Length * 8; bit++)
            {
                bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
            }

            return $": its host bits are set (did you mean {new IPAddress(bytes)}/{prefix}?)";
        }

        return ": expected an address and a prefix length such as 203.0.113.0/24 or 2001:db8::/32";
    }

    private static string Shown(string text) => text.Length <= 64 ? text : text[..64] + "...";
}
