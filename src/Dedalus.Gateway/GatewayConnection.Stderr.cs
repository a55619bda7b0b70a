using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway;

/// <summary>
/// sshd's stderr, read as records (<see cref="SshdLogReader"/>): the "Accepted publickey ... ID &lt;session&gt; (serial N)"
/// line, taken only from a record that is exactly one line, and a bounded tail of every line.
/// </summary>
internal sealed partial class GatewayConnection
{
    private const int MaxLineLength = 512;

    /// <summary>
    /// Set when sshd logs the accepted certificate (session and serial together); returns the line already known, or
    /// null when this one was the first.
    /// </summary>
    public SshdAcceptedLine? TrySetSession(SshdAcceptedLine accepted) =>
        Interlocked.CompareExchange(ref _accepted, accepted, null);

    private async Task ReadStderrAsync(Stream stderr, Action<SshdLogRecord> onRecord, CancellationToken cancellationToken)
    {
        // Bounded whatever the writer sends: a process of the machine may come to hold that pipe (an sshd process of the
        // machine is reachable through /proc in the instant between releasing its memory and closing its files as it
        // exits); one record is at most one read buffer, each line at most MaxLineLength bytes.
        var reader = new SshdLogReader(stderr, MaxLineLength);
        try
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } record)
            {
                foreach (var line in record.DisplayLines)
                {
                    AddToTail(line);
                }

                onRecord(record);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void AddToTail(string line)
    {
        lock (_stderrTail)
        {
            if (_stderrTail.Count == _stderrTailLimit && _stderrTail.Count > 0)
            {
                _stderrTail.Dequeue();
            }

            if (_stderrTailLimit > 0)
            {
                _stderrTail.Enqueue(line);
            }
        }
    }
}
