using System.Threading.Channels;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// A read-only stream fed by a writer in whole chunks (a listening sshd's log lines demultiplexed to one connection),
/// ended by <see cref="Complete"/>. Bounded: past <see cref="Capacity"/> pending chunks new ones are dropped, so a
/// connection whose reader stalls cannot grow the host's memory.
/// </summary>
internal sealed class LineQueueStream : ReadOnlyStream
{
    private const int Capacity = 256;

    private readonly Channel<byte[]> _chunks = Channel.CreateBounded<byte[]>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private ReadOnlyMemory<byte> _current;

    /// <summary>Queues <paramref name="chunk"/> for the reader; false once completed or full.</summary>
    public bool TryAdd(byte[] chunk) => _chunks.Writer.TryWrite(chunk);

    /// <summary>The reader sees the end of stream after what is queued.</summary>
    public void Complete() => _chunks.Writer.TryComplete();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_current.IsEmpty)
        {
            if (!await _chunks.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }

            if (_chunks.Reader.TryRead(out var chunk))
            {
                _current = chunk;
            }
        }

        var count = Math.Min(buffer.Length, _current.Length);
        _current[..count].CopyTo(buffer);
        _current = _current[count..];
        return count;
    }

    protected override void Dispose(bool disposing)
    {
        Complete();
        base.Dispose(disposing);
    }
}
