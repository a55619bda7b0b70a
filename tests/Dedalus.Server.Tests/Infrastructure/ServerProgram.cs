using Dedalus.Testing;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary><c>dedalus-server</c> (built beside the tests) run as a process, as an operator runs its admin commands.</summary>
public static class ServerProgram
{
    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, "dedalus-server");

    /// <summary>Runs it with <paramref name="home"/> as HOME and XDG directories, so nothing of the user running the tests is read or written.</summary>
    public static Task<ProcessResult> RunAsync(TempDirectory home, params string[] arguments) =>
        ProcessRunner.RunAsync(
            Path,
            arguments,
            environment: new Dictionary<string, string>
            {
                ["HOME"] = home.Path,
                ["XDG_DATA_HOME"] = home.Path,
                ["XDG_CONFIG_HOME"] = home.Path,
                ["DEDALUS_DATA_DIR"] = string.Empty,
            },
            timeout: TimeSpan.FromSeconds(60));
}
