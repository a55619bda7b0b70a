namespace Dedalus.Client.Ssh;

/// <summary>
/// known_hosts host-pattern matching as OpenSSH does it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): a comma-separated
/// list of patterns with <c>*</c> and <c>?</c> wildcards, <c>!</c> negating; a host on a port other than 22 is
/// looked up as <c>[host]:port</c>.
/// </summary>
internal static class KnownHostsPattern
{
    public static bool Matches(string patternList, string host, int port)
    {
        var name = port == 22 ? host.ToLowerInvariant() : $"[{host.ToLowerInvariant()}]:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        var matched = false;
        foreach (var raw in patternList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var negated = raw.StartsWith('!');
            var pattern = (negated ? raw[1..] : raw).ToLowerInvariant();
            if (Wildcard(pattern, name))
            {
                if (negated)
                {
                    return false;
                }

                matched = true;
            }
        }

        return matched;
    }

    private static bool Wildcard(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        while (true)
        {
            if (pattern.IsEmpty)
            {
                return text.IsEmpty;
            }

            if (pattern[0] == '*')
            {
                var rest = pattern.TrimStart('*');
                if (rest.IsEmpty)
                {
                    return true;
                }

                for (var i = 0; i <= text.Length; i++)
                {
                    if (Wildcard(rest, text[i..]))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (text.IsEmpty || (pattern[0] != '?' && pattern[0] != text[0]))
            {
                return false;
            }

            pattern = pattern[1..];
            text = text[1..];
        }
    }
}
