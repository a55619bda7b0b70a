using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Dedalus.Gateway;

/// <summary>
/// The SSH binary packet (RFC 4253 section 6) before any key exchange: cipher "none", no MAC, no compression.
/// <code>
///   uint32    packet_length     length of what follows (there is no MAC before keys are exchanged)
///   byte      padding_length    at least 4
///   byte[n1]  payload           n1 = packet_length - padding_length - 1
///   byte[n2]  random padding    n2 = padding_length
/// </code>
/// packet_length || padding_length || payload || padding is a multiple of 8 (the block size of cipher "none").
/// </summary>
internal static class SshPlainPacket
{
    private const int BlockSize = 8;
    private const int MinPadding = 4;

    /// <summary>Frames <paramref name="payload"/> as one packet.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var padding = BlockSize - ((4 + 1 + payload.Length) % BlockSize);
        if (padding < MinPadding)
        {
            padding += BlockSize;
        }

        var packet = new byte[4 + 1 + payload.Length + padding];
        BinaryPrimitives.WriteUInt32BigEndian(packet, (uint)(1 + payload.Length + padding));
        packet[4] = (byte)padding;
        payload.CopyTo(packet.AsSpan(5));
        RandomNumberGenerator.Fill(packet.AsSpan(5 + payload.Length));
        return packet;
    }
}
