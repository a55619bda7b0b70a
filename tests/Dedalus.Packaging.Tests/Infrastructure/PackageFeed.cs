using System.Text;
using Dedalus.Testing;

namespace Dedalus.Packaging.Tests.Infrastructure;

/// <summary>
/// The NuGet packages under test and a private NuGet setup to consume them, shared by the test classes of
/// <see cref="PackagesCollection"/>. The packages are <c>artifacts/packages</c> when <c>./build</c> made them for the
/// current version; otherwise they are packed here, into a temporary folder (never skipped).
/// Consumers restore into a package folder of their own (<c>NUGET_PACKAGES</c>), so a <c>Dedalus.Client</c> of the same
/// version left in the user's cache by an earlier build is never used instead of the one under test. Every other package
/// comes from the user's cache through a fallback folder that links to it, minus <c>dedalus*</c> (no download for
/// what is there already); anything missing comes from the user's normal feed.
/// </summary>
public sealed class PackageFeed : IAsyncLifetime
{
    private static readonly string[] SdkPackages = ["Dedalus.Contracts", "Dedalus.OpenSsh", "Dedalus.Client"];

    private readonly TempDirectory _work = new("dedalus-packaging-");

    /// <summary>The folder holding the packages under test.</summary>
    public string PackagesDirectory { get; private set; } = null!;

    /// <summary>True when the packages were packed by this test run (artifacts/packages lacked them).</summary>
    public bool PackedHere { get; private set; }

    public string Version => Repository.Version;

    /// <summary>A nuget.config naming the packages folder, the restore folder and the fallback folder.</summary>
    public string ConfigFile => _work.Combine("nuget.config");

    /// <summary>The consumers' own package folder.</summary>
    public string NugetPackages => _work.Combine("nuget-packages");

    public string WorkDirectory => _work.Path;

    public async Task InitializeAsync()
    {
        PackagesDirectory = Repository.PackagesDirectory;
        if (!HasEveryPackage(PackagesDirectory))
        {
            PackagesDirectory = _work.Combine("packed");
            await PackAsync(PackagesDirectory);
            PackedHere = true;
        }

        Directory.CreateDirectory(NugetPackages);
        var fallback = LinkUserCache();
        File.WriteAllText(ConfigFile, new StringBuilder()
            .Append("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n")
            .Append("  <config>\n    <add key=\"globalPackagesFolder\" value=\"").Append(NugetPackages).Append("\" />\n  </config>\n")
            .Append("  <packageSources>\n    <add key=\"dedalus-local\" value=\"").Append(PackagesDirectory).Append("\" />\n  </packageSources>\n")
            .Append("  <fallbackPackageFolders>\n    <clear />\n")
            .Append(fallback is null ? string.Empty : "    <add key=\"user-cache\" value=\"" + fallback + "\" />\n")
            .Append("  </fallbackPackageFolders>\n</configuration>\n")
            .ToString());
    }

    public Task DisposeAsync()
    {
        _work.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>The path of package <paramref name="id"/> of the version under test.</summary>
    public string PackagePath(string id) => Path.Combine(PackagesDirectory, $"{id}.{Version}.nupkg");

    /// <summary>Environment for dotnet processes that consume the packages.</summary>
    public Dictionary<string, string> Environment() => Repository.DotnetEnvironment(NugetPackages);

    private bool HasEveryPackage(string directory) =>
        SdkPackages.Append("dedalus").All(id => File.Exists(Path.Combine(directory, $"{id}.{Version}.nupkg")));

    /// <summary>
    /// <c>dotnet pack</c> of the SDK and the tool into <paramref name="output"/>, built in a build folder of its own: the
    /// repository's artifacts/build holds assemblies that test processes running meanwhile have loaded.
    /// </summary>
    private async Task PackAsync(string output)
    {
        foreach (var project in new[] { "Dedalus.Contracts", "Dedalus.OpenSsh", "Dedalus.Client", "Dedalus.Cli" })
        {
            var result = await ProcessRunner.RunAsync(
                "dotnet",
                ["pack", Path.Combine(Repository.Root, "src", project), "-c", "Release", "-nologo", "-v:quiet", "-o", output,
                 "-p:ArtifactsPath=" + _work.Combine("build") + "/", "-p:Version=" + Version],
                timeout: TimeSpan.FromMinutes(10),
                environment: Repository.DotnetEnvironment(System.Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? DefaultUserCache()));
            Assert.True(result.ExitCode == 0, $"dotnet pack {project} failed:\n{result}");
        }

        Assert.True(HasEveryPackage(output), "dotnet pack made: " + string.Join(", ", Directory.EnumerateFiles(output).Select(Path.GetFileName)));
    }

    /// <summary>A folder of links to the user's cached packages except ours; null when there is no cache.</summary>
    private string? LinkUserCache()
    {
        var cache = System.Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set ? set : DefaultUserCache();
        if (!Directory.Exists(cache))
        {
            return null;
        }

        var fallback = _work.Combine("fallback");
        Directory.CreateDirectory(fallback);
        foreach (var package in Directory.EnumerateDirectories(cache))
        {
            var name = Path.GetFileName(package);
            if (name == "dedalus" || name.StartsWith("dedalus.", StringComparison.Ordinal))
            {
                continue;
            }

            Directory.CreateSymbolicLink(Path.Combine(fallback, name), package);
        }

        return fallback;
    }

    private static string DefaultUserCache() =>
        Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".nuget", "packages");
}

/// <summary>The test classes that use the packages: one <see cref="PackageFeed"/> for all, run one after the other.</summary>
[CollectionDefinition(Name)]
public sealed class PackagesCollection : ICollectionFixture<PackageFeed>
{
    public const string Name = "packages";
}
