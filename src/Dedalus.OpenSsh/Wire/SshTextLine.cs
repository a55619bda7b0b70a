namespace Dedalus.OpenSsh.Wire;

/// <summary>
/// Splits the one-line text form shared by public keys and certificates
/// (<c>type base64 [comment]</c>, as in authorized_keys and *.pub / *-cert.pub files) and decodes
/// its base64. Refuses empty, oversized and control-character input; tolerates one trailing
/// newline (LF or CRLF), which some clients send.
/// </summary>
internal static class SshTextLine
{
    /// <summary>The longest line accepted, in characters (16 KiB).</summary>
    public const int MaxLength = 16 * 1024;

    /// <remarks><paramref name="checkType"/> runs before the base64 is decoded, so a refused type is named first.</remarks>
    public static void Split(string? line, string what, Action<string> checkType, out string type, out byte[] blob, out string? comment)
    {
        if (string.IsNullOrEmpty(line))
        {
            throw new SshFormatException($"{what} is empty");
        }

        if (line.Length > MaxLength)
        {
            throw new SshFormatException($"{what} is too long ({line.Length} characters; at most {MaxLength})");
        }

        var text = line.AsSpan();
        if (text.EndsWith("\r\n", StringComparison.Ordinal))
        {
            text = text[..^2];
        }
        else if (text.EndsWith("\n", StringComparison.Ordinal))
        {
            text = text[..^1];
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < 0x20 || c == 0x7F)
            {
                throw new SshFormatException($"{what} contains a control character (0x{(int)c:x2}) at position {i}");
            }
        }

        text = text.Trim(' ');
        if (text.IsEmpty)
        {
            throw new SshFormatException($"{what} is empty");
        }

        var firstSpace = text.IndexOf(' ');
        var typeSpan = firstSpace < 0 ? text : text[..firstSpace];
        type = typeSpan.ToString();
        checkType(type);
        var rest = firstSpace < 0 ? [] : text[(firstSpace + 1)..].TrimStart(' ');
        if (rest.IsEmpty)
        {
            throw new SshFormatException($"{what} has no base64 data after the type '{SshKeyBlob.Printable(type)}'");
        }

        var secondSpace = rest.IndexOf(' ');
        var base64 = secondSpace < 0 ? rest : rest[..secondSpace];
        var commentSpan = secondSpace < 0 ? [] : rest[(secondSpace + 1)..].Trim(' ');
        comment = commentSpan.IsEmpty ? null : commentSpan.ToString();
        blob = DecodeBase64(base64, what);
    }

    private static byte[] DecodeBase64(ReadOnlySpan<char> base64, string what)
    {
        if (base64.Length % 4 != 0)
        {
            throw new SshFormatException($"{what} data is not valid base64");
        }

        var padding = base64.EndsWith("==", StringComparison.Ordinal) ? 2 : base64.EndsWith("=", StringComparison.Ordinal) ? 1 : 0;
        var blob = new byte[(base64.Length / 4 * 3) - padding];
        if (!Convert.TryFromBase64Chars(base64, blob, out var written) || written != blob.Length)
        {
            throw new SshFormatException($"{what} data is not valid base64");
        }

        return blob;
    }
}
