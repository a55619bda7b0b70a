namespace Dedalus.Cli.Processes;

/// <summary>Finds programs on PATH, and says how to run this CLI again, each platform's way.</summary>
internal static class Executables
{
    /// <summary>
    /// The full path of program <paramref name="name"/> (<c>ssh</c>, <c>ssh-keygen</c>), or <see langword="null"/>.
    /// Unix: the first executable file of that name on PATH. Windows: <c>name.exe</c> (or another PATHEXT extension) on
    /// PATH, then OpenSSH for Windows' own folder, <c>%WINDIR%\System32\OpenSSH</c>, which is not on PATH in every shell.
    /// </summary>
    public static string? Find(string name) =>
        OperatingSystem.IsWindows()
            ? FindOnWindows(name, Environment.GetEnvironmentVariable("PATH"), Environment.GetEnvironmentVariable("PATHEXT"), Environment.GetEnvironmentVariable("WINDIR"), File.Exists)
            : FindOnUnix(name, Environment.GetEnvironmentVariable("PATH"));

    /// <summary>The candidates <see cref="Find"/> looks at on Windows, in order, the first existing one winning (unit tests).</summary>
    internal static string? FindOnWindows(string name, string? path, string? pathExtensions, string? windowsDirectory, Func<string, bool> exists)
    {
        var extensions = Path.HasExtension(name)
            ? [string.Empty]
            : (pathExtensions is { Length: > 0 } ? pathExtensions : ".COM;.EXE;.BAT;.CMD")
                .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(e => e.Equals(".exe", StringComparison.OrdinalIgnoreCase) || e.Equals(".com", StringComparison.OrdinalIgnoreCase))
                .Prepend(".exe")
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .ToArray();
        var directories = (path ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => d.Trim('"'))
            .ToList();
        if (windowsDirectory is { Length: > 0 })
        {
            directories.Add(windowsDirectory.TrimEnd('\\') + @"\System32\OpenSSH");
        }

        foreach (var directory in directories)
        {
            foreach (var extension in extensions)
            {
                var candidate = directory.TrimEnd('\\', '/') + @"\" + name + extension;
                if (exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static string? FindOnUnix(string name, string? path)
    {
        foreach (var directory in (path ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// How to run this CLI again from the shell OpenSSH runs <c>Match exec</c> commands with (the apphost, or
    /// <c>dotnet dedalus.dll</c>): <c>/bin/sh</c> on Unix, <c>cmd.exe</c> for OpenSSH for Windows.
    /// </summary>
    public static string SelfCommand()
    {
        var processPath = Environment.ProcessPath ?? "dedalus";
        Func<string, string> quote = OperatingSystem.IsWindows() ? WindowsQuote : ShellQuote;
        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return quote(processPath) + " " + quote(Path.Combine(AppContext.BaseDirectory, "dedalus.dll"));
        }

        return quote(processPath);
    }

    /// <summary>One word for <c>/bin/sh</c>: as is when it is plain, else in single quotes.</summary>
    public static string ShellQuote(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_' or '+' or ':' or '=' or '@' or ',')
            ? text
            : "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// One word for a Windows command line (<c>cmd.exe</c>, then the program's argument parser): as is when it is plain,
    /// else in double quotes. A Windows path holds no <c>"</c>, and backslashes before the closing quote are doubled.
    /// </summary>
    public static string WindowsQuote(string text)
    {
        if (text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '\\' or '/' or '.' or '-' or '_' or ':' or '+' or ','))
        {
            return text;
        }

        var trailing = text.Length - text.TrimEnd('\\').Length;
        return "\"" + text.Replace("\"", "\\\"", StringComparison.Ordinal) + new string('\\', trailing) + "\"";
    }
}
