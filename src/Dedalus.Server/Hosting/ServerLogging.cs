namespace Dedalus.Server.Hosting;

/// <summary>
/// The console log's format (<see cref="ServerOptions.LogFormat"/>): <c>simple</c> for a terminal, <c>systemd</c> for
/// journald (a <c>&lt;6&gt;</c>-style priority prefix journald turns into the entry's priority, no colours, one line
/// per entry), <c>json</c> for log shippers (one object per line).
/// </summary>
public static class ServerLogging
{
    /// <summary>
    /// The format to use: the configured one, else <c>systemd</c> when systemd started the process (it sets
    /// <c>INVOCATION_ID</c> for every service, and <c>JOURNAL_STREAM</c> when the output goes to the journal), else
    /// <c>simple</c>.
    /// </summary>
    public static string Choose(string? configured, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return configured
            ?? (environment("JOURNAL_STREAM") is { Length: > 0 } || environment("INVOCATION_ID") is { Length: > 0 } ? LogFormats.Systemd : LogFormats.Simple);
    }

    /// <summary>Sets the console logger's formatter to <paramref name="format"/>.</summary>
    public static void Apply(ILoggingBuilder logging, string format)
    {
        ArgumentNullException.ThrowIfNull(logging);
        switch (format)
        {
            case LogFormats.Json:
                logging.AddJsonConsole(json =>
                {
                    json.IncludeScopes = true;
                    json.UseUtcTimestamp = true;
                    json.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
                });
                break;
            case LogFormats.Systemd:
                // No timestamp: journald stamps every entry itself.
                logging.AddSystemdConsole(systemd => systemd.IncludeScopes = true);
                break;
            default:
                logging.AddSimpleConsole();
                break;
        }
    }
}
