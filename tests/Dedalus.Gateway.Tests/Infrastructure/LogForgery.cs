using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>
/// The log forgery of issue #14, scripted by hand: sshd with <c>-e</c> logs the client's KEXINIT offer it cannot agree
/// with ("Unable to negotiate with ADDRESS port P: no matching key exchange method found. Their offer: NAMES") without
/// escaping CR and LF, so a key exchange name holding "\r\nAccepted publickey ... ID victim ...\r\n" writes a well
/// formed login line of the client's choosing into sshd's log.
/// </summary>
public static class LogForgery
{
    private const byte MessageKexInit = 20;

    /// <summary>A login line that <see cref="Dedalus.Machines.Ssh.SshdAcceptedLine"/> parses, naming <paramref name="sessionId"/>.</summary>
    public static string AcceptedLine(string user, string address, int port, string sessionId, ulong serial) =>
        string.Create(CultureInfo.InvariantCulture, $"Accepted publickey for {user} from {address} port {port} ssh2: ED25519-CERT SHA256:Zm9yZ2Vk ID {sessionId} (serial {serial}) CA ED25519 SHA256:Zm9yZ2Vk");

    /// <summary>A kex_algorithms name-list that makes sshd log <paramref name="forgedLine"/> as a line of its own.</summary>
    public static string KexNames(string forgedLine) => "forger@example.org\r\n" + forgedLine + "\r\n";

    /// <summary>
    /// SSH_MSG_KEXINIT (RFC 4253 section 7.1) in a packet before key exchange:
    /// <code>
    ///   byte         SSH_MSG_KEXINIT (20)
    ///   byte[16]     cookie
    ///   name-list    kex_algorithms, server_host_key_algorithms,
    ///                encryption c2s, s2c, mac c2s, s2c, compression c2s, s2c, languages c2s, s2c
    ///   boolean      first_kex_packet_follows
    ///   uint32       0 (reserved)
    /// </code>
    /// </summary>
    public static byte[] KexInitPacket(string kexNames)
    {
        string[] lists =
        [
            kexNames, "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", "",
        ];
        var payload = new List<byte> { MessageKexInit };
        payload.AddRange(RandomNumberGenerator.GetBytes(16));
        foreach (var list in lists)
        {
            var bytes = Encoding.UTF8.GetBytes(list);
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
            payload.AddRange(length);
            payload.AddRange(bytes);
        }

        payload.AddRange(new byte[5]);
        return SshPlainPacket.Frame([.. payload]);
    }

    /// <summary>
    /// Connects to the gateway, gets past sshd's identification line, sends a KEXINIT with the names
    /// <paramref name="kexNames"/> gives (asked only then: a forgery may need to know the connection) and reads until
    /// the other side closes; returns what came back after the identification line.
    /// </summary>
    public static async Task<string> SendAsync(int gatewayPort, Func<Task<string>> kexNames)
    {
        var (socket, banner) = await GatewayHarness.ConnectPastBannerAsync(gatewayPort);
        using (socket)
        {
            Assert.StartsWith("SSH-2.0-", banner, StringComparison.Ordinal);
            var packet = KexInitPacket(await kexNames());
            using var timeout = new CancellationTokenSource(GatewayHarness.Timeout);
            await socket.SendAsync(packet, SocketFlags.None, timeout.Token);
            return await GatewayHarness.ReadAllTextAsync(socket);
        }
    }

    /// <summary>The local port of the one established TCP connection to <paramref name="endPoint"/> (the gateway's connection to a listening sshd).</summary>
    public static async Task<int> SourcePortToAsync(System.Net.IPEndPoint endPoint)
    {
        var ss = await ProcessRunner.RunAsync("ss", ["-Htn", "state", "established", "dst", endPoint.ToString()]);
        Assert.True(ss.ExitCode == 0, ss.ToString());
        var line = Assert.Single(ss.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var local = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
        return int.Parse(local[(local.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
    }
}
