using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Dedalus.Gateway;

/// <summary>
/// The bytes the gateway sends a client it refuses before sshd was started, in the order the client reads them:
/// <list type="number">
/// <item>"dedalus-gateway: DETAIL" CR LF: a line before the version string (RFC 4253 section 4.2); OpenSSH shows it with -v only;</item>
/// <item>"SSH-2.0-dedalus-gateway" CR LF: the gateway's own identification line;</item>
/// <item>an SSH_MSG_DISCONNECT binary packet before any key exchange (cipher "none", no MAC), whose description plain
/// <c>ssh</c> prints at error level: "Received disconnect from HOST port P:CODE: dedalus-gateway: DETAIL".</item>
/// </list>
/// </summary>
internal static class SshRefusal
{
    /// <summary>The gateway's identification line (without CR LF).</summary>
    public const string Identification = "SSH-2.0-dedalus-gateway";

    private const byte MessageDisconnect = 1;
    private const int BlockSize = 8;
    private const int MinPadding = 4;

    /// <summary>The refusal's bytes: text line, identification line, disconnect packet.</summary>
    public static byte[] Build(string detail, SshDisconnectReason reason)
    {
        var text = $"dedalus-gateway: {detail}";
        var lines = Encoding.UTF8.GetBytes($"{text}\r\n{Identification}\r\n");
        var packet = DisconnectPacket(reason, text);
        return [.. lines, .. packet];
    }

    /// <summary>
    /// SSH_MSG_DISCONNECT (RFC 4253 section 11.1) in a binary packet (section 6) before key exchange:
    /// <code>
    ///   uint32    packet_length     length of what follows (no MAC before keys are exchanged)
    ///   byte      padding_length    at least 4
    ///   byte[n1]  payload:
    ///               byte      SSH_MSG_DISCONNECT (1)
    ///               uint32    reason code
    ///               string    description (ISO-10646 UTF-8)
    ///               string    language tag ("")
    ///   byte[n2]  random padding    n2 = padding_length
    /// </code>
    /// packet_length || padding_length || payload || padding is a multiple of 8 (the block size of cipher "none").
    /// </summary>
    public static byte[] DisconnectPacket(SshDisconnectReason reason, string description)
    {
        var descriptionBytes = Encoding.UTF8.GetBytes(description);
        var payloadLength = 1 + 4 + 4 + descriptionBytes.Length + 4;
        var padding = BlockSize - ((4 + 1 + payloadLength) % BlockSize);
        if (padding < MinPadding)
        {
            padding += BlockSize;
        }

        var packet = new byte[4 + 1 + payloadLength + padding];
        var span = packet.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)(1 + payloadLength + padding));
        span[4] = (byte)padding;
        var payload = span[5..];
        payload[0] = MessageDisconnect;
        BinaryPrimitives.WriteUInt32BigEndian(payload[1..], (uint)reason);
        BinaryPrimitives.WriteUInt32BigEndian(payload[5..], (uint)descriptionBytes.Length);
        descriptionBytes.CopyTo(payload[9..]);
        BinaryPrimitives.WriteUInt32BigEndian(payload[(9 + descriptionBytes.Length)..], 0);
        RandomNumberGenerator.Fill(span[(5 + payloadLength)..]);
        return packet;
    }
}
