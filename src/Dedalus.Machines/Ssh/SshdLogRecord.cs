using System.Diagnostics.CodeAnalysis;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// One record of sshd's log pipe (<see cref="SshdLogReader"/>): what one write(2) wrote, split into lines for the log
/// tail. Only an <see cref="Attributable"/> record may name a session: exactly one line, ended by its line end and by
/// the packet, and not the continuation of a write the kernel had to split.
/// </summary>
/// <param name="Lines">The record's lines (UTF-8, without <c>\r\n</c> or <c>\n</c>), each bounded.</param>
/// <param name="Attributable">True when the record is one whole line that sshd alone can have written as such.</param>
public sealed record SshdLogRecord(IReadOnlyList<string> Lines, bool Attributable)
{
    /// <summary>What each line of a record that is not attributable starts with in a log tail or a forwarded stream.</summary>
    public const string UnattributableMark = "(not attributable) ";

    /// <summary>The lines to show: those of a record that is not attributable marked with <see cref="UnattributableMark"/> (once).</summary>
    public IEnumerable<string> DisplayLines => Attributable
        ? Lines
        : Lines.Select(line => line.StartsWith(UnattributableMark, StringComparison.Ordinal) ? line : UnattributableMark + line);

    /// <summary>The "Accepted publickey" line of an attributable record; false for any other record.</summary>
    public bool TryParseAccepted([NotNullWhen(true)] out SshdAcceptedLine? accepted)
    {
        accepted = null;
        return Attributable && Lines.Count == 1 && SshdAcceptedLine.TryParse(Lines[0], out accepted);
    }
}
