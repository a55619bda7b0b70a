using System.Text;

namespace Dedalus.Gateway;

/// <summary>
/// Lines of a stream with a bound: bytes past <c>maxLineBytes</c> are dropped up to the next newline, so memory stays
/// bounded whatever the writer sends. sshd's stderr needs it: a process of the machine may come to hold that pipe (an
/// sshd process of the machine is reachable through /proc in the instant between releasing its memory and closing its
/// files as it exits), and an endless line must not grow the gateway's memory.
/// </summary>
internal static class BoundedLines
{
    /// <summary>Calls <paramref name="onLine"/> for each line (UTF-8, without its <c>\r\n</c> or <c>\n</c>), the last one even without a newline.</summary>
    public static async Task ReadAsync(Stream stream, int maxLineBytes, Action<string> onLine, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var line = new byte[maxLineBytes];
        var length = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var b = buffer[i];
                if (b == (byte)'\n')
                {
                    onLine(Encoding.UTF8.GetString(line, 0, length).TrimEnd('\r'));
                    length = 0;
                }
                else if (length < line.Length)
                {
                    line[length++] = b;
                }
            }
        }

        if (length > 0)
        {
            onLine(Encoding.UTF8.GetString(line, 0, length).TrimEnd('\r'));
        }
    }
}
