using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Dedalus.Console.Bench;

/// <summary>
/// A terminal at a shell prompt that the bench types into: a key goes out, and the time its echo comes back is measured
/// where the output is read (each chunk is stamped as it arrives).
/// </summary>
internal abstract class EchoingTerminal(TimeSpan patience) : IAsyncDisposable
{
    private readonly Channel<(byte[] Bytes, long At)> _output = Channel.CreateUnbounded<(byte[], long)>();

    protected TimeSpan Patience { get; } = patience;

    /// <summary>Types <c>a</c>, returns the milliseconds until its echo, then erases it with Backspace (DEL).</summary>
    public async Task<double> EchoAsync()
    {
        while (_output.Reader.TryRead(out _))
        {
        }

        var started = Stopwatch.GetTimestamp();
        await SendAsync("a"u8.ToArray());
        var echoed = await ReadUntilAsync(b => b == (byte)'a');
        await SendAsync([0x7f]);
        await ReadUntilAsync(b => b == 0x08);
        return Stopwatch.GetElapsedTime(started, echoed).TotalMilliseconds;
    }

    public abstract ValueTask DisposeAsync();

    /// <summary>Waits until the output so far ends with a shell prompt (<c>$</c> or <c>#</c>).</summary>
    public async Task WaitForPromptAsync()
    {
        var seen = new List<byte>();
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var (bytes, _) = await _output.Reader.ReadAsync(timeout.Token);
            seen.AddRange(bytes);
            var text = Encoding.UTF8.GetString([.. seen]).TrimEnd();
            if (text.EndsWith('$') || text.EndsWith('#'))
            {
                return;
            }
        }
    }

    protected abstract Task SendAsync(byte[] bytes);

    /// <summary>Output arrived (stamped now).</summary>
    protected void Received(byte[] bytes) => _output.Writer.TryWrite((bytes, Stopwatch.GetTimestamp()));

    protected void Ended() => _output.Writer.TryComplete();

    /// <summary>Reads output until a byte matches; returns when the chunk holding it was read.</summary>
    private async Task<long> ReadUntilAsync(Func<byte, bool> match)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var (bytes, at) = await _output.Reader.ReadAsync(timeout.Token);
            if (bytes.Any(match))
            {
                return at;
            }
        }
    }
}
