namespace Dedalus.Gateway;

/// <summary>sshd's stderr: the "Accepted publickey ... ID &lt;session&gt; (serial N)" line, and a bounded tail.</summary>
internal sealed partial class GatewayConnection
{
    private const int MaxLineLength = 512;

    /// <summary>Set when sshd logs the accepted certificate; returns false if it was already known.</summary>
    public bool TrySetSession(string sessionId, ulong serial)
    {
        _serial = serial;
        return Interlocked.CompareExchange(ref _sessionId, sessionId, null) is null;
    }

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
