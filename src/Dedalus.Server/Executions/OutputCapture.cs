using System.Text;
using Dedalus.Contracts;
using Dedalus.Server.Store;

namespace Dedalus.Server.Executions;

/// <summary>
/// What an execution wrote on stdout and stderr, as it arrives: every byte is counted, the first
/// <see cref="Limit"/> bytes of each stream are kept as UTF-8 text (a character split between two reads is decoded
/// whole; invalid bytes become U+FFFD), and kept text waits as events until <see cref="TakePending"/>. Arrival order
/// is kept across the two streams; consecutive pieces of one stream merge into one event of at most
/// <see cref="MaxChunkChars"/> characters. Thread-safe: one pump per stream appends, a flusher takes.
/// </summary>
public sealed class OutputCapture(int limit, TimeProvider timeProvider)
{
    public const int MaxChunkChars = 64 * 1024;

    private readonly Lock _lock = new();
    private readonly Stream _stdout = new(ExecutionEventTypes.Stdout, limit);
    private readonly Stream _stderr = new(ExecutionEventTypes.Stderr, limit);
    private readonly List<(string Type, StringBuilder Text, DateTimeOffset At)> _pending = [];
    private int _pendingChars;

    public int Limit => limit;

    /// <summary>Characters waiting to be taken.</summary>
    public int PendingChars
    {
        get
        {
            lock (_lock)
            {
                return _pendingChars;
            }
        }
    }

    public void Append(bool stdout, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            var stream = stdout ? _stdout : _stderr;
            stream.Total += data.Length;
            var take = (int)Math.Min(data.Length, limit - stream.Kept);
            if (take > 0)
            {
                stream.Kept += take;
                Add(stream, data[..take], flush: stream.Kept == limit);
            }
        }
    }

    /// <summary>After the last read: the bytes of a character left incomplete at the end are decoded (as U+FFFD).</summary>
    public void Complete()
    {
        lock (_lock)
        {
            foreach (var stream in (Stream[])[_stdout, _stderr])
            {
                if (stream.Kept < limit)
                {
                    Add(stream, [], flush: true);
                }
            }
        }
    }

    /// <summary>The events waiting, as chunks, and the counts as of now.</summary>
    public (IReadOnlyList<ExecutionEventRecord> Events, Counts Counts) TakePending()
    {
        lock (_lock)
        {
            var events = _pending.Select(p => new ExecutionEventRecord { Type = p.Type, At = p.At, Chunk = p.Text.ToString() }).ToList();
            _pending.Clear();
            _pendingChars = 0;
            return (events, new Counts(_stdout.Total, _stderr.Total, _stdout.Kept, _stderr.Kept));
        }
    }

    private void Add(Stream stream, ReadOnlySpan<byte> data, bool flush)
    {
        var chars = new char[stream.Decoder.GetCharCount(data, flush)];
        var count = stream.Decoder.GetChars(data, chars, flush);
        var text = chars.AsSpan(0, count);
        while (!text.IsEmpty)
        {
            if (_pending.Count == 0 || _pending[^1].Type != stream.Type || _pending[^1].Text.Length >= MaxChunkChars)
            {
                _pending.Add((stream.Type, new StringBuilder(), timeProvider.GetUtcNow()));
            }

            var target = _pending[^1].Text;
            var room = MaxChunkChars - target.Length;
            var piece = text.Length <= room ? text : text[..room];

            // Never split a surrogate pair between two events.
            if (piece.Length < text.Length && char.IsHighSurrogate(piece[^1]) && piece.Length > 1)
            {
                piece = piece[..^1];
            }

            target.Append(piece);
            _pendingChars += piece.Length;
            text = text[piece.Length..];
        }
    }

    /// <summary>Bytes written and kept per stream.</summary>
    public readonly record struct Counts(long StdoutBytes, long StderrBytes, long StdoutKept, long StderrKept)
    {
        public bool Truncated => StdoutBytes > StdoutKept || StderrBytes > StderrKept;
    }

    private sealed class Stream(string type, int limit)
    {
        public string Type { get; } = type;
        public Decoder Decoder { get; } = new UTF8Encoding(false, false).GetDecoder();
        public long Total { get; set; }
        public long Kept { get; set; }
        public int Limit { get; } = limit;
    }
}
