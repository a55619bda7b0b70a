using System.Buffers.Binary;
using System.Security.Cryptography;
using Dedalus.Packaging.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Packaging.Tests;

/// <summary>
/// The self-contained CLIs of <c>./build</c> in <c>artifacts/dist</c>. Only the Linux x64 one can run here; the others
/// are checked for what a loader on their platform reads first: the executable format and the CPU. When <c>./build</c>
/// made no dist (<c>DEDALUS_BUILD_DIST=0</c>), the Linux x64 one is published here and run, and the others are not checked.
/// </summary>
public sealed class DistBinaryTests
{
    public static TheoryData<string, string, string> Targets => new()
    {
        { "linux-x64", "dedalus", "ELF x86-64" },
        { "linux-arm64", "dedalus", "ELF AArch64" },
        { "osx-arm64", "dedalus", "Mach-O arm64" },
        { "osx-x64", "dedalus", "Mach-O x86-64" },
        { "win-x64", "dedalus.exe", "PE x86-64" },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void Each_dist_binary_has_its_platforms_executable_format_and_cpu(string rid, string fileName, string expected)
    {
        var sums = Path.Combine(Repository.DistDirectory, "SHA256SUMS");
        if (!File.Exists(sums))
        {
            // Not built in this run (DEDALUS_BUILD_DIST=0): nothing of another platform to look at. The Linux x64 binary is
            // still published and run by the test below.
            Assert.False(Directory.Exists(Repository.DistDirectory), "artifacts/dist exists without its SHA256SUMS");
            return;
        }

        var relative = $"dedalus-{rid}/{fileName}";
        var path = Path.Combine(Repository.DistDirectory, relative);
        var listed = File.ReadAllLines(sums).Select(l => l.Split("  ", 2)).Where(p => p.Length == 2).ToDictionary(p => p[1], p => p[0]);
        if (!listed.ContainsKey(relative) && Environment.GetEnvironmentVariable("DEDALUS_DIST_RIDS") is { Length: > 0 } only && !only.Split(' ').Contains(rid))
        {
            return;   // ./build was asked for other runtimes only.
        }

        Assert.True(File.Exists(path), $"{relative} is missing from artifacts/dist");
        Assert.True(listed.TryGetValue(relative, out var sum), $"{relative} is not in SHA256SUMS");
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(sum, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Assert.True(bytes.Length > 1 << 20, $"{relative} is only {bytes.Length} bytes");
        Assert.Equal(expected, ExecutableFormat.Describe(bytes));
    }

    [Fact]
    public async Task The_linux_x64_dist_binary_runs_here_and_prints_the_version()
    {
        using var work = new TempDirectory("dedalus-dist-");
        var binary = Path.Combine(Repository.DistDirectory, "dedalus-linux-x64", "dedalus");
        if (!File.Exists(binary))
        {
            var publish = await ProcessRunner.RunAsync(
                "dotnet",
                ["publish", Path.Combine(Repository.Root, "src", "Dedalus.Cli"), "-c", "Release", "-nologo", "-v:quiet", "-r", "linux-x64", "--self-contained",
                 "-p:PublishSingleFile=true", "-p:IncludeNativeLibrariesForSelfExtract=true", "-p:PublishTrimmed=true", "-p:EnableCompressionInSingleFile=true",
                 "-p:ArtifactsPath=" + work.Combine("build") + "/", "-o", work.Combine("out")],
                timeout: TimeSpan.FromMinutes(10),
                environment: Repository.DotnetEnvironment(Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                    ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages")));
            Assert.True(publish.ExitCode == 0, publish.ToString());
            binary = work.Combine("out", "dedalus");
        }

        // Self-contained: no dotnet on PATH, no DOTNET_ROOT; a bundle extraction folder of the test's own.
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/bin:/bin",
            ["DOTNET_ROOT"] = work.Combine("no-dotnet"),
            ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = work.Combine("extract"),
            ["HOME"] = work.Path,
        };
        var version = await ProcessRunner.RunAsync(binary, ["--version"], environment: environment);
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Equal(Repository.Version, version.StandardOutput.Trim());

        var help = await ProcessRunner.RunAsync(binary, ["machines", "--help"], environment: environment);
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("create", help.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void The_format_reader_tells_the_five_formats_apart()
    {
        byte[] Elf(ushort machine)
        {
            var header = new byte[64];
            "\u007fELF"u8.CopyTo(header);
            header[4] = 2;
            header[5] = 1;
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(18), machine);
            return header;
        }

        byte[] MachO(uint cpu)
        {
            var header = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(header, 0xFEEDFACF);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), cpu);
            return header;
        }

        var pe = new byte[256];
        "MZ"u8.CopyTo(pe);
        BinaryPrimitives.WriteInt32LittleEndian(pe.AsSpan(0x3C), 0x80);
        "PE\0\0"u8.CopyTo(pe.AsSpan(0x80));
        BinaryPrimitives.WriteUInt16LittleEndian(pe.AsSpan(0x84), 0x8664);

        Assert.Equal("ELF x86-64", ExecutableFormat.Describe(Elf(62)));
        Assert.Equal("ELF AArch64", ExecutableFormat.Describe(Elf(183)));
        Assert.Equal("Mach-O arm64", ExecutableFormat.Describe(MachO(0x0100000C)));
        Assert.Equal("Mach-O x86-64", ExecutableFormat.Describe(MachO(0x01000007)));
        Assert.Equal("PE x86-64", ExecutableFormat.Describe(pe));
        Assert.Equal("unknown", ExecutableFormat.Describe("#!/bin/sh\n"u8.ToArray()));
    }
}
