using System.Buffers.Binary;
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

    /// <summary>The refusal's bytes: text line, identification line, disconnect packet.</summary>
    public static byte[] Build(string detail, SshDisconnectReason reason)
    {
        var text = $"dedalus-gateway: {detail}";
        var lines = Encoding.UTF8.GetBytes($"{text}\r\n{Identification}\r\n");
        var packet = DisconnectPacket(reason, text);
        return [.. lines, .. packet];
    }

    /// <summary>
    /// SSH_MSG_DISCONNECT (RFC 4253 section 11.1), in a packet before key exchange (<see cref="SshPlainPacket"/>):
    /// <code>
    ///   byte      SSH_MSG_DISCONNECT (1)
    ///   uint32    reason code
    ///   string    description (ISO-10646 UTF-8)
    ///   string    language tag ("")
    /// </code>
    /// </summary>
    public static byte[] DisconnectPacket(SshDisconnectReason reason, string description)
    {
        var descriptionBytes = Encoding.UTF8.GetBytes(description);
        var payload = new byte[1 + 4 + 4 + descriptionBytes.Length + 4];
        var span = payload.AsSpan();
        span[0] = MessageDisconnect;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)reason);
        BinaryPrimitives.WriteUInt32BigEndian(span[5..], (uint)descriptionBytes.Length);
        descriptionBytes.CopyTo(span[9..]);
        BinaryPrimitives.WriteUInt32BigEndian(span[(9 + descriptionBytes.Length)..], 0);
        return SshPlainPacket.Frame(payload);
    }
}
