using System.Text;

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
            using var reader = new StreamReader(stderr, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 1024);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                line = line.TrimEnd('\r');
                if (line.Length > MaxLineLength)
                {
                    line = line[..MaxLineLength];
                }

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
}
