using Dedalus.Testing;

namespace Dedalus.Cli.Tests.Infrastructure;

/// <summary>Runs the built <c>dedalus</c> program with a private HOME and TMPDIR, so leftovers can be checked.</summary>
public sealed class CliProgram : IDisposable
{
    private readonly TempDirectory _root = new("dedalus-cli-");

    public CliProgram()
    {
        Directory.CreateDirectory(TempPath);
        Directory.CreateDirectory(HomePath);
    }

    /// <summary>The program under test: <c>DEDALUS_CLI_PATH</c> (e.g. a NativeAOT build), else the build output.</summary>
    public static string Program =>
        System.Environment.GetEnvironmentVariable("DEDALUS_CLI_PATH") is { Length: > 0 } path ? path : Path.Combine(AppContext.BaseDirectory, "dedalus");

    public string TempPath => _root.Combine("tmp");

    public string HomePath => _root.Combine("home");

    public string SshCachePath => _root.Combine("ssh-cache");

    public string Root => _root.Path;

    public Dictionary<string, string> Environment { get; } = [];

    public IReadOnlyList<string> Leftovers() => Directory.GetFileSystemEntries(TempPath);

    public Dictionary<string, string> EffectiveEnvironment()
    {
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = HomePath,
            ["TMPDIR"] = TempPath,
            ["XDG_CONFIG_HOME"] = Path.Combine(HomePath, ".config"),
            ["DEDALUS_SSH_DIR"] = SshCachePath,
            ["DEDALUS_BASE_URL"] = string.Empty,
            ["DEDALUS_API_KEY"] = string.Empty,
            ["DEDALUS_X_API_KEY"] = string.Empty,
            ["DEDALUS_ORG_ID"] = string.Empty,
        };
        foreach (var (key, value) in Environment)
        {
            environment[key] = value;
        }

        return environment;
    }

    public Task<ProcessResult> RunAsync(params string[] arguments) => RunAsync(TimeSpan.FromSeconds(60), arguments);

    public Task<ProcessResult> RunAsync(TimeSpan timeout, params string[] arguments) =>
        ProcessRunner.RunAsync(Program, arguments, timeout: timeout, environment: EffectiveEnvironment());

    public Task<ProcessResult> RunToolAsync(string tool, params string[] arguments) =>
        ProcessRunner.RunAsync(tool, arguments, timeout: TimeSpan.FromSeconds(60), environment: EffectiveEnvironment());

    /// <summary>Starts the program without waiting, stdin, stdout and stderr redirected; disposing kills it if a failed test left it running.</summary>
    public TestProcess Start(params string[] arguments) => TestProcess.Start(Program, arguments, EffectiveEnvironment());

    public void Dispose() => _root.Dispose();
}
