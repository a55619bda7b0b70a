using System.Diagnostics;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// One progress line on stderr, redrawn in place (<c>waking dm-... 0.4 s</c>), only when stderr is a terminal;
/// otherwise silent. Disposing erases it.
/// </summary>
internal sealed class ProgressLine : IProgress<SshSession>, IDisposable
{
    private readonly string _machineId;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Timer? _timer;
    private readonly Lock _lock = new();
    private string _verb = "starting session on";
    private bool _drawn;
    private bool _disposed;

    private ProgressLine(string machineId, bool enabled, string? verb = null)
    {
        _machineId = machineId;
        _verb = verb ?? _verb;
        if (enabled)
        {
            _timer = new Timer(_ => Draw(), null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100));
        }
    }

    public static ProgressLine Start(string machineId) => new(machineId, !Console.IsErrorRedirected);

    /// <summary>A line that says <paramref name="verb"/> (<c>waking</c>) until disposed.</summary>
    public static ProgressLine Start(string machineId, string verb) => new(machineId, !Console.IsErrorRedirected, verb);

    public void Report(SshSession value)
    {
        lock (_lock)
        {
            _verb = value.Status switch
            {
                SshSessionStatuses.WakeInProgress => "waking",
                SshSessionStatuses.Ready => "connecting to",
                _ => "preparing",
            };
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _timer?.Dispose();
            if (_drawn)
            {
                Console.Error.Write("\r\u001b[K");
                Console.Error.Flush();
            }
        }
    }

    private void Draw()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _drawn = true;
            Console.Error.Write($"\r{_verb} {_machineId} {_clock.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s\u001b[K");
            Console.Error.Flush();
        }
    }
}
