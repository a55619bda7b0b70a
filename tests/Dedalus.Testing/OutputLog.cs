using System.Text;

namespace Dedalus.Testing;

/// <summary>
/// What a process wrote on one stream, line by line as it arrived (its first 4 Mi characters), with a wait on what
/// it says: a test waits for the line it expects, not for a while.
/// </summary>
public sealed class OutputLog
{
    private const int MaxLength = 4 * 1024 * 1024;
    private readonly StringBuilder _text = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource _changed = NewSignal();
    private bool _ended;

    /// <summary>Everything written so far, one line per line.</summary>
    public string Text
    {
        get
        {
            lock (_lock)
            {
                return _text.ToString();
            }
        }
    }

    /// <summary>How much has been written so far: a position to wait from.</summary>
    public int Length
    {
        get
        {
            lock (_lock)
            {
                return _text.Length;
            }
        }
    }

    public override string ToString() => Text;

    /// <summary>
    /// Waits until <paramref name="text"/> appears at or after position <paramref name="from"/>; false when the stream
    /// ended or <paramref name="timeout"/> (30 s unless told) passed first.
    /// </summary>
    public async Task<bool> WaitForAsync(string text, int from = 0, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            string written;
            bool ended;
            Task changed;
            lock (_lock)
            {
                written = _text.ToString();
                ended = _ended;
                changed = _changed.Task;
            }

            if (Holds(written))
            {
                return true;
            }

            if (ended)
            {
                return false;
            }

            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                return Holds(Text);
            }
        }

        bool Holds(string written) => written.AsSpan(Math.Min(from, written.Length)).Contains(text, StringComparison.Ordinal);
    }

    /// <summary>Adds a line; null marks the end of the stream.</summary>
    internal void Add(string? line)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            if (line is null)
            {
                _ended = true;
            }
            else if (_text.Length < MaxLength)
            {
                _text.Append(line).Append('\n');
            }

            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
