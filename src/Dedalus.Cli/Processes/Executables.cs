namespace Dedalus.Cli.Processes;

/// <summary>Finds programs on PATH.</summary>
internal static class Executables
{
    public static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>How to run this CLI again from a shell (the apphost, or <c>dotnet dedalus.dll</c>).</summary>
    public static string SelfCommand()
    {
        var processPath = Environment.ProcessPath ?? "dedalus";
        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return ShellQuote(processPath) + " " + ShellQuote(Path.Combine(AppContext.BaseDirectory, "dedalus.dll"));
        }

        return ShellQuote(processPath);
    }

    public static string ShellQuote(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_' or '+' or ':' or '=' or '@' or ',')
            ? text
            : "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
