using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway;

/// <summary>sshd's stderr: the "Accepted publickey ... ID &lt;session&gt; (serial N)" line, and a bounded tail.</summary>
internal sealed partial class GatewayConnection
{
    private const int MaxLineLength = 512;

    /// <summary>
    /// Set when sshd logs the accepted certificate (session and serial together); returns the line already known, or
    /// null when this one was the first.
    /// </summary>
    public SshdAcceptedLine? TrySetSession(SshdAcceptedLine accepted) =>
        Interlocked.CompareExchange(ref _accepted, accepted, null);

    private async Task ReadStderrAsync(Stream stderr, Action<string> onLine, CancellationToken cancellationToken)
    {
        try
        {
            await BoundedLines.ReadAsync(stderr, MaxLineLength, line => EmitLine(line, onLine), cancellationToken).ConfigureAwait(false);
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

    private void EmitLine(string line, Action<string> onLine)
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

        onLine(line);
    }
}
