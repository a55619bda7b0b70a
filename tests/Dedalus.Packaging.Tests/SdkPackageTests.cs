using System.Text.RegularExpressions;
using Dedalus.Packaging.Tests.Infrastructure;
using Dedalus.Testing;
using Dedalus.Testing.ControlPlane;

namespace Dedalus.Packaging.Tests;

/// <summary>
/// A new console project, as a user would write it, that uses the SDK from its NuGet packages (not the projects) against
/// a real dedalus-server with runc machines: it creates a machine, lists it, runs a command over SSH (SSH.NET) and
/// over real OpenSSH with the session's files, then deletes the machine. Its build must show no CA1416: the SDK's
/// public surface is platform-neutral.
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed partial class SdkPackageTests(PackageFeed feed, RealServer server) : IClassFixture<RealServer>
{
    private const string Program = """
        using System.Diagnostics;
        using Dedalus.Client;
        using Dedalus.Contracts;

        using var client = new DedalusClient();   // DEDALUS_BASE_URL, DEDALUS_API_KEY
        var machine = await client.Machines.CreateAsync(new CreateMachineRequest(Vcpu: 0.25, MemoryMib: 256, StorageGib: 1, Autosleep: "never", Name: args[0]));
        Console.WriteLine($"created {machine.MachineId} {machine.Name}");
        try
        {
            var listed = new List<string>();
            await foreach (var m in client.Machines.ListAsync())
            {
                listed.Add(m.MachineId);
            }

            Console.WriteLine($"listed {listed.Contains(machine.MachineId)}");

            using (var ssh = await client.Machines.Ssh.ConnectAsync(machine.MachineId, TimeSpan.FromMinutes(3)))
            {
                using var command = ssh.RunCommand("echo ssh.net says $((6*7)) as $(id -un)");
                Console.Write(command.Result);
            }

            var key = SshKeyPair.GenerateEd25519();
            var session = await client.Machines.Ssh.CreateAsync(machine.MachineId, key.PublicKey);
            session = await client.Machines.Ssh.WaitUntilReadyAsync(session, TimeSpan.FromMinutes(2));
            using var files = SshSessionFiles.Create(session, key);
            var start = new ProcessStartInfo("ssh") { RedirectStandardOutput = true };
            foreach (var argument in files.GetSshArguments(["-o", "BatchMode=yes"], ["echo", "openssh says", "hi"]))
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            Console.Write(await process.StandardOutput.ReadToEndAsync());
            await process.WaitForExitAsync();
            Console.WriteLine($"openssh exit {process.ExitCode}");
        }
        finally
        {
            var deleted = await client.Machines.DeleteAsync(machine.MachineId);
            Console.WriteLine($"deleted {deleted.DesiredState}");
        }
        """;

    /// <summary>A Linux-only call of the program's own, built once: the warning it must draw shows the analyzer runs.</summary>
    private const string Canary = """
        static class Canary
        {
            public static void MakePrivate(string path) => File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        """;

    [Fact]
    public async Task A_new_console_project_builds_from_the_packages_without_CA1416_and_drives_a_real_server()
    {
        var project = Path.Combine(feed.WorkDirectory, "consumer");
        Directory.CreateDirectory(project);
        File.Copy(feed.ConfigFile, Path.Combine(project, "nuget.config"), overwrite: true);
        File.WriteAllText(Path.Combine(project, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Dedalus.Client" Version="[{feed.Version}]" />
              </ItemGroup>
              <ItemGroup Condition="'$(Canary)' != 'true'">
                <Compile Remove="Canary.cs" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Program.cs"), Program);
        File.WriteAllText(Path.Combine(project, "Canary.cs"), Canary);

        // First with the canary: the platform analyzer is on, and its only CA1416 is the program's own Linux-only call.
        var withCanary = await DotnetAsync("build", project, "-c", "Release", "-nologo", "-p:Canary=true", "-p:TreatWarningsAsErrors=false");
        Assert.True(withCanary.ExitCode == 0, withCanary.ToString());
        var canaryWarnings = Ca1416Lines(withCanary.StandardOutput);
        Assert.NotEmpty(canaryWarnings);
        Assert.All(canaryWarnings, line => Assert.Contains("Canary.cs", line, StringComparison.Ordinal));

        // The program itself: every SDK call, none drawing CA1416.
        var output = Path.Combine(project, "out");
        var build = await DotnetAsync("build", project, "-c", "Release", "-nologo", "-p:TreatWarningsAsErrors=false", "-o", output);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Empty(Ca1416Lines(build.StandardOutput));
        // Restored from the packages under test, into the consumer's own package folder.
        Assert.True(File.Exists(Path.Combine(feed.NugetPackages, "dedalus.client", feed.Version, $"dedalus.client.{feed.Version}.nupkg")));

        var environment = feed.Environment();
        environment["DEDALUS_BASE_URL"] = server.BaseUrl.ToString();
        environment["DEDALUS_API_KEY"] = server.ApiKey;
        var name = "from-packages-" + Guid.NewGuid().ToString("N")[..8];
        var run = await ProcessRunner.RunAsync("dotnet", [Path.Combine(output, "Consumer.dll"), name], timeout: TimeSpan.FromMinutes(6), environment: environment);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches($"^created [0-9a-f-]{{36}} {name}$", lines[0]);
        Assert.Equal(
            ["listed True", "ssh.net says 42 as machine", "openssh says hi", "openssh exit 0", "deleted destroyed"],
            lines[1..]);
    }

    private Task<ProcessResult> DotnetAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("dotnet", arguments, timeout: TimeSpan.FromMinutes(10), environment: feed.Environment());

    private static List<string> Ca1416Lines(string buildOutput) =>
        buildOutput.Split('\n').Where(l => Ca1416().IsMatch(l)).ToList();

    [GeneratedRegex(@"\bCA1416\b")]
    private static partial Regex Ca1416();
}
