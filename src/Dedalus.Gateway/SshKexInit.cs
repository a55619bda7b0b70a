using System.Buffers.Binary;
using System.Globalization;

namespace Dedalus.Gateway;

/// <summary>
/// The client's first binary packet, checked before sshd sees it: it must be SSH_MSG_KEXINIT (RFC 4253 section 7.1)
/// whose name-lists hold printable US-ASCII only (RFC 4251 section 5: names are printable US-ASCII without comma,
/// whitespace, control characters or DEL; the lists join them with commas). sshd logs a KEXINIT it cannot agree with
/// ("Their offer: ...") escaping neither CR nor LF: the check keeps client text with line breaks out of its log.
/// <code>
///   uint32       packet_length (no MAC before keys are exchanged; see SshPlainPacket)
///   byte         padding_length
///   byte         SSH_MSG_KEXINIT (20)
///   byte[16]     cookie
///   name-list    kex_algorithms, server_host_key_algorithms, encryption c2s, s2c, mac c2s, s2c,
///                compression c2s, s2c, languages c2s, s2c   (each: uint32 length, then the bytes)
///   boolean      first_kex_packet_follows
///   uint32       0 (reserved)
/// </code>
/// </summary>
internal static class SshKexInit
{
    /// <summary>The largest packet (packet_length and what follows) an implementation must accept (RFC 4253 section 6.1).</summary>
    public const int MaxPacketBytes = 35000;

    private const byte MessageKexInit = 20;
    private const int CookieBytes = 16;

    private static readonly string[] ListNames =
    [
        "kex_algorithms", "server_host_key_algorithms", "encryption_algorithms_client_to_server",
        "encryption_algorithms_server_to_client", "mac_algorithms_client_to_server", "mac_algorithms_server_to_client",
        "compression_algorithms_client_to_server", "compression_algorithms_server_to_client",
        "languages_client_to_server", "languages_server_to_client",
    ];

    /// <summary>
    /// Checks the packet at the start of <paramref name="bytes"/>: <see cref="SshKexInitStatus.Incomplete"/> until all of
    /// it is there, then valid or not (<paramref name="problem"/> says why, for the client and the audit).
    /// </summary>
    public static SshKexInitStatus Check(ReadOnlySpan<byte> bytes, out string? problem)
    {
        problem = null;
        if (bytes.Length < 4)
        {
            return SshKexInitStatus.Incomplete;
        }

        var packetLength = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        if (packetLength < 1 + 1 + CookieBytes || packetLength > MaxPacketBytes - 4)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"the first packet's length ({packetLength}) is not that of a KEXINIT");
            return SshKexInitStatus.Invalid;
        }

        if (bytes.Length < 4 + packetLength)
        {
            return SshKexInitStatus.Incomplete;
        }

        var padding = bytes[4];
        if (padding >= packetLength - 1)
        {
            problem = "the first packet's padding is longer than the packet";
            return SshKexInitStatus.Invalid;
        }

        var payload = bytes.Slice(5, (int)packetLength - 1 - padding);
        if (payload[0] != MessageKexInit)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"the first packet is message {payload[0]}, not KEXINIT (20)");
            return SshKexInitStatus.Invalid;
        }

        var rest = payload[1..];
        if (rest.Length < CookieBytes)
        {
            problem = "the KEXINIT ends in its cookie";
            return SshKexInitStatus.Invalid;
        }

        rest = rest[CookieBytes..];
        foreach (var name in ListNames)
        {
            if (rest.Length < 4 || BinaryPrimitives.ReadUInt32BigEndian(rest) > (uint)(rest.Length - 4))
            {
                problem = $"the KEXINIT ends in its name-list {name}";
                return SshKexInitStatus.Invalid;
            }

            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(rest);
            var list = rest.Slice(4, length);
            var bad = list.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7E);
            if (bad >= 0)
            {
                problem = string.Create(CultureInfo.InvariantCulture, $"the KEXINIT name-list {name} holds byte 0x{list[bad]:x2} at offset {bad}: names are printable US-ASCII only (RFC 4251 section 5)");
                return SshKexInitStatus.Invalid;
            }

            rest = rest[(4 + length)..];
        }

        return SshKexInitStatus.Valid;
    }
}
