using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// sshd's log line for an accepted certificate login, parsed strictly:
/// <c>Accepted publickey for USER from ADDRESS port PORT ssh2: KEYTYPE-CERT FINGERPRINT ID KEYID (serial N) CA CATYPE CAFINGERPRINT</c>,
/// optionally followed by <c>, signature count = N</c> (FIDO keys). The layout is OpenSSH's: auth.c <c>auth_log</c>
/// ("%s %s for %s from %s port %d ssh2%s") and auth2-pubkey.c <c>format_method_key</c>
/// (": %s %s ID %s (serial %llu) CA %s %s%s%s").
/// <para>
/// sshd with <c>-e</c> writes its lines to stderr without a prefix, from its own process and its children alike, so a
/// genuine line starts with "Accepted publickey for ": a line that merely holds the phrase (for example
/// "Invalid user Accepted publickey for ... from ...", where the user name is the client's) is not one. The user is an
/// account name (no spaces; sshd cuts a user name at its first ':', so a name never carries the ": " this layout
/// needs), the key id is everything between " ID " and the " (serial N) CA " that the line's end anchors, so a key
/// id that itself holds " (serial 1) CA " is read whole.
/// </para>
/// <para>
/// What this does not settle: sshd writes some client-chosen strings to its log without escaping line breaks (with
/// <c>-e</c> it escapes only unsafe characters, and CR and LF count as safe), for example the algorithm names of the
/// client's unencrypted KEXINIT ("Their offer: ...") and, after key exchange, the text of the client's
/// SSH_MSG_DISCONNECT. A client can therefore make sshd write a whole line of its choosing into the stream of its own
/// connection; see the gateway's handling of a second, different accepted line.
/// </para>
/// </summary>
/// <param name="User">The account that logged in.</param>
/// <param name="Address">The client's address as sshd saw it (<c>UNKNOWN</c> for sshd -i on pipes).</param>
/// <param name="Port">The client's port as sshd saw it (65535 for sshd -i on pipes).</param>
/// <param name="KeyType">The certificate's type, e.g. <c>ED25519-CERT</c>.</param>
/// <param name="SessionId">The certificate's key id: the session.</param>
/// <param name="Serial">The certificate's serial.</param>
public sealed record SshdAcceptedLine(string User, string Address, int Port, string KeyType, string SessionId, ulong Serial)
{
    private const string AcceptedMarker = "Accepted publickey for ";
    private const string FromMarker = " from ";
    private const string PortMarker = " port ";
    private const string ProtocolMarker = " ssh2: ";
    private const string IdMarker = " ID ";
    private const string SerialMarker = " (serial ";
    private const string CaMarker = ") CA ";
    private const string SignatureCountMarker = ", signature count = ";
    private const string CertificateSuffix = "-CERT";
    private const string FingerprintPrefix = "SHA256:";

    /// <summary>Parses <paramref name="line"/> (without its line end); false for any other line.</summary>
    public static bool TryParse(ReadOnlySpan<char> line, [NotNullWhen(true)] out SshdAcceptedLine? accepted)
    {
        accepted = null;
        if (!line.StartsWith(AcceptedMarker, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = line[AcceptedMarker.Length..];
        if (!TakeToken(ref rest, out var user) ||
            !TakeMarker(ref rest, FromMarker) || !TakeToken(ref rest, out var address) ||
            !TakeMarker(ref rest, PortMarker) || !TakeToken(ref rest, out var portText) ||
            !TryParsePort(portText, out var port) ||
            !TakeMarker(ref rest, ProtocolMarker) || !TakeToken(ref rest, out var keyType) ||
            !keyType.EndsWith(CertificateSuffix, StringComparison.Ordinal) || !IsName(keyType) ||
            !TakeMarker(ref rest, " ") || !TakeToken(ref rest, out var fingerprint) || !IsFingerprint(fingerprint) ||
            !TakeMarker(ref rest, IdMarker))
        {
            return false;
        }

        // The rest: KEYID (serial N) CA CATYPE CAFINGERPRINT[, signature count = N], read from its end.
        var signatureCount = rest.LastIndexOf(SignatureCountMarker, StringComparison.Ordinal);
        if (signatureCount >= 0 && IsDigits(rest[(signatureCount + SignatureCountMarker.Length)..]))
        {
            rest = rest[..signatureCount];
        }

        var space = rest.LastIndexOf(' ');
        if (space < 0 || !IsFingerprint(rest[(space + 1)..]))
        {
            return false;
        }

        rest = rest[..space];
        space = rest.LastIndexOf(' ');
        if (space < 0 || !IsName(rest[(space + 1)..]))
        {
            return false;
        }

        rest = rest[..(space + 1)];
        if (!rest.EndsWith(CaMarker, StringComparison.Ordinal))
        {
            return false;
        }

        rest = rest[..^CaMarker.Length];
        var serialAt = rest.LastIndexOf(SerialMarker, StringComparison.Ordinal);
        if (serialAt <= 0 ||
            !IsDigits(rest[(serialAt + SerialMarker.Length)..]) ||
            !ulong.TryParse(rest[(serialAt + SerialMarker.Length)..], NumberStyles.None, CultureInfo.InvariantCulture, out var serial))
        {
            return false;
        }

        accepted = new SshdAcceptedLine(user.ToString(), address.ToString(), port, keyType.ToString(), rest[..serialAt].ToString(), serial);
        return true;
    }

    /// <summary>Takes a non-empty run of characters up to the next space (or the end).</summary>
    private static bool TakeToken(ref ReadOnlySpan<char> rest, out ReadOnlySpan<char> token)
    {
        var end = rest.IndexOf(' ');
        token = end < 0 ? rest : rest[..end];
        rest = rest[token.Length..];
        return !token.IsEmpty;
    }

    private static bool TakeMarker(ref ReadOnlySpan<char> rest, string marker)
    {
        if (!rest.StartsWith(marker, StringComparison.Ordinal))
        {
            return false;
        }

        rest = rest[marker.Length..];
        return true;
    }

    private static bool TryParsePort(ReadOnlySpan<char> text, out int port)
    {
        port = 0;
        return IsDigits(text) && text.Length <= 5 &&
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= ushort.MaxValue;
    }

    private static bool IsDigits(ReadOnlySpan<char> text) => !text.IsEmpty && !text.ContainsAnyExceptInRange('0', '9');

    /// <summary>A key type name as sshd prints it: letters, digits and <c>-@.</c>.</summary>
    private static bool IsName(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '@' or '.'))
            {
                return false;
            }
        }

        return !text.IsEmpty;
    }

    /// <summary><c>SHA256:</c> and unpadded base64 (sshd's default FingerprintHash).</summary>
    private static bool IsFingerprint(ReadOnlySpan<char> text)
    {
        if (!text.StartsWith(FingerprintPrefix, StringComparison.Ordinal) || text.Length == FingerprintPrefix.Length)
        {
            return false;
        }

        foreach (var c in text[FingerprintPrefix.Length..])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('+' or '/'))
            {
                return false;
            }
        }

        return true;
    }
}
