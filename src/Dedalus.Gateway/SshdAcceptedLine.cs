using System.Globalization;

namespace Dedalus.Gateway;

/// <summary>
/// Parses sshd's (LogLevel VERBOSE or INFO) log line for an accepted certificate login, for example
/// <c>Accepted publickey for root from UNKNOWN port 65535 ssh2: ED25519-CERT SHA256:... ID sess-1 (serial 42) CA ED25519 SHA256:...</c>
/// (auth2-pubkey.c / auth.c in OpenSSH: "ID %s (serial %llu) CA %s %s"). The key id (session id) may
/// be any string sshd prints; everything between "ID " and the last " (serial N) CA " is taken.
/// </summary>
internal static class SshdAcceptedLine
{
    private const string AcceptedMarker = "Accepted publickey for ";
    private const string IdMarker = " ID ";
    private const string SerialMarker = " (serial ";

    public static bool TryParse(ReadOnlySpan<char> line, out string sessionId, out ulong serial)
    {
        sessionId = string.Empty;
        serial = 0;
        var accepted = line.IndexOf(AcceptedMarker, StringComparison.Ordinal);
        if (accepted < 0)
        {
            return false;
        }

        var rest = line[(accepted + AcceptedMarker.Length)..];
        var id = rest.IndexOf(IdMarker, StringComparison.Ordinal);
        if (id < 0)
        {
            return false;
        }

        rest = rest[(id + IdMarker.Length)..];
        var serialAt = rest.LastIndexOf(SerialMarker, StringComparison.Ordinal);
        if (serialAt <= 0)
        {
            return false;
        }

        var afterSerial = rest[(serialAt + SerialMarker.Length)..];
        var close = afterSerial.IndexOf(')');
        if (close <= 0 || !ulong.TryParse(afterSerial[..close], NumberStyles.None, CultureInfo.InvariantCulture, out serial))
        {
            return false;
        }

        sessionId = rest[..serialAt].ToString();
        return true;
    }
}
