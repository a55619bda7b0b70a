namespace Dedalus.Cli.Configuration;

/// <summary>
/// Where the CLI keeps its files on each platform. <c>XDG_CONFIG_HOME</c> and <c>XDG_CACHE_HOME</c> win wherever they
/// are set (so tests and users can move them). Otherwise Linux and macOS use <c>~/.config</c> and <c>~/.cache</c>, as
/// OpenSSH, git and most command-line tools do on both (not <c>~/Library</c>, which is for apps); Windows uses
/// <c>%APPDATA%</c> for settings (roams with the profile) and <c>%LOCALAPPDATA%</c> for the cache (keys and
/// certificates of this computer, which must not roam).
/// </summary>
internal static class CliPaths
{
    public static string ConfigHome() =>
        ConfigHome(Environment.GetEnvironmentVariable, OperatingSystem.IsWindows(), Environment.GetFolderPath);

    public static string CacheHome() =>
        CacheHome(Environment.GetEnvironmentVariable, OperatingSystem.IsWindows(), Environment.GetFolderPath);

    /// <summary>The choice itself, on a given environment and platform (unit tests).</summary>
    internal static string ConfigHome(Func<string, string?> environment, bool windows, Func<Environment.SpecialFolder, string> folder) =>
        NonEmpty(environment("XDG_CONFIG_HOME"))
            ?? (windows ? folder(Environment.SpecialFolder.ApplicationData) : Path.Combine(folder(Environment.SpecialFolder.UserProfile), ".config"));

    /// <summary>The choice itself, on a given environment and platform (unit tests).</summary>
    internal static string CacheHome(Func<string, string?> environment, bool windows, Func<Environment.SpecialFolder, string> folder) =>
        NonEmpty(environment("XDG_CACHE_HOME"))
            ?? (windows ? folder(Environment.SpecialFolder.LocalApplicationData) : Path.Combine(folder(Environment.SpecialFolder.UserProfile), ".cache"));

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
