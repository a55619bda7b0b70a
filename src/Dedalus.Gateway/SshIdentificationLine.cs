using System.Text;

namespace Dedalus.Gateway;

/// <summary>
/// Checks the first bytes a client sends against RFC 4253 section 4.2 (protocol version exchange):
/// <code>
///   SSH-protoversion-softwareversion SP comments CR LF
/// </code>
/// at most 255 bytes with the CR LF; protoversion "2.0" (or "1.99": a client that also speaks 1.x, RFC 4253 section 5.1);
/// printable US-ASCII; no other lines before it (only a server may send those). A lone LF ends the line too, as OpenSSH
/// accepts. The check rejects as early as the bytes allow: "GET / HTTP/1.1" fails at its first byte.
/// </summary>
internal static class SshIdentificationLine
{
    /// <summary>The longest identification line, CR LF included.</summary>
    public const int MaxLength = 255;

    private const int SampleLength = 24;

    /// <summary>Checks <paramref name="received"/> (everything the client sent so far).</summary>
    /// <param name="received">The client's bytes from the first one.</param>
    /// <param name="problem">For <see cref="SshIdentificationStatus.NotSsh"/> and <see cref="SshIdentificationStatus.UnsupportedVersion"/>, what is wrong (safe to log: printable, bounded).</param>
    public static SshIdentificationStatus Check(ReadOnlySpan<byte> received, out string? problem)
    {
        problem = null;
        var end = received.IndexOf((byte)'\n');
        var line = end < 0 ? received : received[..end];
        if (end >= 0 && line.EndsWith("\r"u8))
        {
            line = line[..^1];
        }

        // The prefix, as far as it has arrived.
        var prefix = "SSH-"u8;
        var compared = Math.Min(line.Length, prefix.Length);
        if (!line[..compared].SequenceEqual(prefix[..compared]) || (end >= 0 && line.Length < prefix.Length))
        {
            problem = $"the first line is not an SSH identification: \"{Sample(received)}\"";
            return SshIdentificationStatus.NotSsh;
        }

        // Printable US-ASCII only; a CR may end a line that has not ended yet.
        var printable = end < 0 && line.EndsWith("\r"u8) ? line[..^1] : line;
        foreach (var b in printable)
        {
            if (b is < 0x20 or > 0x7e)
            {
                problem = $"the identification line holds a byte that is not printable ASCII (0x{b:x2})";
                return SshIdentificationStatus.NotSsh;
            }
        }

        if (end < 0)
        {
            if (received.Length >= MaxLength)
            {
                problem = $"no end of the identification line within {MaxLength} bytes";
                return SshIdentificationStatus.NotSsh;
            }

            return SshIdentificationStatus.Incomplete;
        }

        if (end + 1 > MaxLength)
        {
            problem = $"the identification line is longer than {MaxLength} bytes";
            return SshIdentificationStatus.NotSsh;
        }

        // SSH-protoversion-softwareversion[ SP comments]
        var afterPrefix = line[prefix.Length..];
        var dash = afterPrefix.IndexOf((byte)'-');
        if (dash <= 0 || dash == afterPrefix.Length - 1 || afterPrefix[dash + 1] == (byte)' ')
        {
            problem = $"the identification line names no protocol or software version: \"{Sample(line)}\"";
            return SshIdentificationStatus.NotSsh;
        }

        var version = afterPrefix[..dash];
        if (version.SequenceEqual("2.0"u8) || version.SequenceEqual("1.99"u8))
        {
            return SshIdentificationStatus.Complete;
        }

        if (version.Length > 8)
        {
            problem = $"the identification line names no protocol version: \"{Sample(line)}\"";
            return SshIdentificationStatus.NotSsh;
        }

        problem = $"SSH protocol version {Encoding.ASCII.GetString(version)} is not supported (2.0 only)";
        return SshIdentificationStatus.UnsupportedVersion;
    }

    /// <summary>The first bytes as printable ASCII (anything else as '?'), bounded, for messages.</summary>
    private static string Sample(ReadOnlySpan<byte> bytes)
    {
        var length = Math.Min(bytes.Length, SampleLength);
        var sample = new StringBuilder(length + 3);
        foreach (var b in bytes[..length])
        {
            if (b is (byte)'\r' or (byte)'\n')
            {
                break;
            }

            sample.Append(b is >= 0x20 and <= 0x7e and not (byte)'"' ? (char)b : '?');
        }

        if (bytes.Length > length && sample.Length == length)
        {
            sample.Append("...");
        }

        return sample.ToString();
    }
}
