using System.Reflection;
using System.Text.RegularExpressions;

namespace Dedalus.Packaging.Tests.Infrastructure;

/// <summary>The checkout under test: where <c>./build</c> leaves its packages and binaries, and the version they carry.</summary>
internal static partial class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary><c>artifacts/packages</c>: the NuGet packages of the last <c>./build</c>.</summary>
    public static string PackagesDirectory => Path.Combine(Root, "artifacts", "packages");

    /// <summary><c>artifacts/dist</c>: the self-contained CLIs of the last <c>./build</c> (absent after <c>DEDALUS_BUILD_DIST=0</c>).</summary>
    public static string DistDirectory => Path.Combine(Root, "artifacts", "dist");

    /// <summary>The one version of everything built: <c>VersionPrefix</c> in Directory.Build.props, unless <c>DEDALUS_VERSION</c> overrode it.</summary>
    public static string Version { get; } =
        Environment.GetEnvironmentVariable("DEDALUS_VERSION") is { Length: > 0 } overridden
            ? overridden
            : VersionPrefix().Match(File.ReadAllText(Path.Combine(Root, "Directory.Build.props"))) is { Success: true } match
                ? match.Groups[1].Value
                : throw new InvalidOperationException("no <VersionPrefix> in Directory.Build.props");

    /// <summary>Environment for the dotnet CLI run by tests: quiet, no lingering build servers.</summary>
    public static Dictionary<string, string> DotnetEnvironment(string nugetPackages) => new()
    {
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
        ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        ["MSBUILDDISABLENODEREUSE"] = "1",
        ["NUGET_PACKAGES"] = nugetPackages,
    };

    private static string FindRoot()
    {
        static bool IsRoot(string? path) =>
            !string.IsNullOrEmpty(path) && File.Exists(Path.Combine(path, "Dedalus.slnx")) && File.Exists(Path.Combine(path, "build"));

        if (Environment.GetEnvironmentVariable("DEDALUS_REPO_ROOT") is { } fromEnvironment && IsRoot(fromEnvironment))
        {
            return fromEnvironment;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (IsRoot(directory.FullName))
            {
                return directory.FullName;
            }
        }

        var built = typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        return IsRoot(built) ? built! : throw new InvalidOperationException("cannot find the repository root (set DEDALUS_REPO_ROOT)");
    }

    [GeneratedRegex(@"<VersionPrefix>\s*([^<\s]+)\s*</VersionPrefix>")]
    private static partial Regex VersionPrefix();
}
