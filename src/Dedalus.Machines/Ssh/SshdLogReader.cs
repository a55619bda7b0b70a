using System.Text;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// Reads sshd's log as records, not as a byte stream: one <see cref="Stream.ReadAsync(Memory{byte}, CancellationToken)"/>
/// per record, with a buffer larger than any pipe packet. The stream must keep the writer's boundaries: a pipe in
/// packet mode (<see cref="PacketPipe"/>; .NET's pipe streams issue one read(2) per read and buffer nothing), or a
/// stream that hands out one queued chunk per read (the listening connector's per-connection stream).
/// <para>
/// sshd writes a message with one write(2), ending in "\r\n", under 1100 bytes, but some client-chosen text in it (a
/// KEXINIT name-list, a disconnect message) may hold CR and LF unescaped. A record is attributable when it is exactly
/// one line: no CR or LF before its final line end. A record that does not end with its line end, or fills a pipe
/// page (a write the kernel split into packets), is not attributable, and neither is the record after it, which may
/// be that write's continuation.
/// </para>
/// </summary>
/// <param name="stream">sshd's stderr.</param>
/// <param name="maxLineBytes">Bytes kept of each line; the rest of a longer line is dropped.</param>
public sealed class SshdLogReader(Stream stream, int maxLineBytes = SshdLogReader.DefaultMaxLineBytes)
{
    /// <summary>Bytes kept of each line unless told.</summary>
    public const int DefaultMaxLineBytes = 1024;

    /// <summary>The read buffer: larger than a pipe packet, which is at most a page.</summary>
    public const int BufferSize = 16 * 1024;

    /// <summary>
    /// A record this long may be one page of a longer write that the kernel split into packets (4 KiB pages on x86_64
    /// and on arm64 as Debian builds it); sshd's messages are far shorter.
    /// </summary>
    public const int PacketLimit = 4096;

    private readonly byte[] _buffer = new byte[BufferSize];
    private bool _previousWhole = true;

    /// <summary>The next record; null at the end of the stream.</summary>
    public async ValueTask<SshdLogRecord?> ReadAsync(CancellationToken cancellationToken = default)
    {
        var read = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        return read == 0 ? null : Classify(_buffer.AsSpan(0, read));
    }

    /// <summary>The record of one read's bytes (and what it means for the next one).</summary>
    private SshdLogRecord Classify(ReadOnlySpan<byte> bytes)
    {
        var whole = bytes.Length < PacketLimit && bytes[^1] == (byte)'\n';
        var body = whole ? bytes[..^1] : bytes;
        if (whole && !body.IsEmpty && body[^1] == (byte)'\r')
        {
            body = body[..^1];
        }

        var attributable = whole && _previousWhole && !body.IsEmpty && body.IndexOfAny((byte)'\r', (byte)'\n') < 0;
        _previousWhole = whole;

        var lines = new List<string>(1);
        while (true)
        {
            var end = body.IndexOf((byte)'\n');
            var line = end < 0 ? body : body[..end];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            lines.Add(Encoding.UTF8.GetString(line[..Math.Min(line.Length, maxLineBytes)]));
            if (end < 0)
            {
                break;
            }

            body = body[(end + 1)..];
        }

        return new SshdLogRecord(lines, attributable);
    }
}
