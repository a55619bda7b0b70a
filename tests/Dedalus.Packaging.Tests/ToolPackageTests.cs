using Dedalus.Packaging.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Packaging.Tests;

/// <summary>The CLI as a .NET tool: <c>dotnet tool install</c> from the packages folder, then the installed command runs.</summary>
[Collection(PackagesCollection.Name)]
public sealed class ToolPackageTests(PackageFeed feed)
{
    [Fact]
    public async Task The_tool_package_installs_into_a_tool_path_and_dedalus_prints_its_version_and_help()
    {
        using var tools = new TempDirectory("dedalus-tool-path-");
        var install = await ProcessRunner.RunAsync(
            "dotnet",
            ["tool", "install", "--tool-path", tools.Path, "--add-source", feed.PackagesDirectory, "--configfile", feed.ConfigFile, "--version", feed.Version, "dedalus"],
            timeout: TimeSpan.FromMinutes(5),
            environment: feed.Environment());
        Assert.True(install.ExitCode == 0, install.ToString());

        var dedalus = Path.Combine(tools.Path, "dedalus");
        Assert.True(File.Exists(dedalus), "no dedalus in the tool path after:\n" + install);
        var environment = feed.Environment();
        var version = await ProcessRunner.RunAsync(dedalus, ["--version"], environment: environment);
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Equal(feed.Version, version.StandardOutput.Trim());

        var help = await ProcessRunner.RunAsync(dedalus, ["--help"], environment: environment);
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("machines", help.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("ssh-config", help.StandardOutput, StringComparison.Ordinal);
    }
}
