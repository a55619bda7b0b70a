using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Dedalus.Gateway;

/// <summary>
/// What the per-source budgets count by: an IPv4 address (an IPv4-mapped IPv6 address is the IPv4 address), or an IPv6
/// /64 (a host is usually given a whole /64 and can use any address in it, so counting single addresses would let it
/// multiply its budget at will).
/// </summary>
internal readonly record struct SourceAddress
{
    private readonly ulong _value;
    private readonly bool _isIPv6;

    private SourceAddress(ulong value, bool isIPv6)
    {
        _value = value;
        _isIPv6 = isIPv6;
    }

    /// <summary>The source of a client at <paramref name="address"/>.</summary>
    public static SourceAddress Of(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            throw new ArgumentException($"cannot read the address {address}", nameof(address));
        }

        return address.AddressFamily == AddressFamily.InterNetwork && written == 4
            ? new SourceAddress(BinaryPrimitives.ReadUInt32BigEndian(bytes), isIPv6: false)
            : new SourceAddress(BinaryPrimitives.ReadUInt64BigEndian(bytes), isIPv6: true);
    }

    /// <summary>"192.0.2.7", or "2001:db8:1:2::/64".</summary>
    public override string ToString()
    {
        if (!_isIPv6)
        {
            var v4 = (uint)_value;
            return string.Create(CultureInfo.InvariantCulture, $"{v4 >> 24}.{(v4 >> 16) & 0xff}.{(v4 >> 8) & 0xff}.{v4 & 0xff}");
        }

        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, _value);
        return new IPAddress(bytes) + "/64";
    }
}
