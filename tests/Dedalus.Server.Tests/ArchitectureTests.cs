using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Dedalus.Server.Tests;

/// <summary>
/// The shape of src/Dedalus.Server, read from its source: HTTP stays at the edge, one type writes session status,
/// and no service locator outside the composition root.
/// </summary>
public sealed partial class ArchitectureTests
{
    private static readonly string ServerSource = Path.GetFullPath(Path.Combine(TestDirectory(), "..", "..", "src", "Dedalus.Server"));

    /// <summary>Folders of the domain: everything but the HTTP edge (Http/, */Api/) and the composition root (Hosting/).</summary>
    private static readonly string[] DomainFolders = ["Auth", "Connections", "Errors", "Gateway", "Machines", "Quotas", "Reconciliation", "Sessions", "Ssh", "Store"];

    [Fact]
    public void Nothing_under_the_domain_folders_references_asp_net_core_or_status_codes()
    {
        var offenders = DomainFolders
            .SelectMany(folder => SourceFiles(folder))
            .Where(file => !IsEdge(file))
            .SelectMany(file => AspNetCoreUse().Matches(File.ReadAllText(file)).Select(match => $"{Relative(file)}: {match.Value}"))
            .ToList();

        Assert.True(offenders.Count == 0, "ASP.NET Core in domain code:\n" + string.Join('\n', offenders));
        Assert.Contains(SourceFiles("Machines"), IsEdge); // the edge is where the endpoints are
    }

    [Fact]
    public void Only_the_session_lifecycle_writes_session_status()
    {
        var writers = SourceFiles(".")
            .Where(file => !Relative(file).StartsWith("Store/", StringComparison.Ordinal))
            .Where(file => SessionStatusWrite().IsMatch(File.ReadAllText(file)))
            .Select(Relative)
            .ToList();

        Assert.Equal(["Sessions/SessionLifecycle.cs"], writers);
    }

    [Fact]
    public void No_service_locator_outside_the_composition_root()
    {
        var offenders = SourceFiles(".")
            .Where(file => Relative(file) is not ("Hosting/ServerApp.cs" or "Hosting/ServerServices.cs"))
            .Where(file => ServiceLocator().IsMatch(File.ReadAllText(file)))
            .Select(Relative)
            .ToList();

        Assert.Empty(offenders);
    }

    [Fact]
    public void The_domain_throws_its_own_errors_and_only_the_edge_maps_them_to_status_codes()
    {
        var mappers = SourceFiles(".")
            .Where(file => File.ReadAllText(file).Contains("StatusCodes.Status", StringComparison.Ordinal))
            .Select(Relative)
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.All(mappers, file => Assert.True(file.StartsWith("Http/", StringComparison.Ordinal) || file.Contains("/Api/", StringComparison.Ordinal), file));
        Assert.Contains("Http/ErrorResponses.cs", mappers);
    }

    private static bool IsEdge(string file) => Relative(file).Contains("/Api/", StringComparison.Ordinal);

    private static IEnumerable<string> SourceFiles(string folder) =>
        Directory.EnumerateFiles(Path.Combine(ServerSource, folder), "*.cs", SearchOption.AllDirectories)
            .Where(file => !Relative(file).StartsWith("obj/", StringComparison.Ordinal) && !Relative(file).StartsWith("bin/", StringComparison.Ordinal));

    private static string Relative(string file) => Path.GetRelativePath(ServerSource, file).Replace('\\', '/');

    private static string TestDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    [GeneratedRegex(@"Microsoft\.AspNetCore|\bStatusCodes\b|\bHttpContext\b|\bHttpRequest\b|\bHttpResponse\b|\bIResult\b|\bTypedResults\b")]
    private static partial Regex AspNetCoreUse();

    [GeneratedRegex(@"\b(InsertSessionAsync|CloseSessionAsync|MarkSessionsReadyAsync|MarkSessionsWaitingAsync|FailWaitingSessionsAsync|EndMachineSessionsAsync|ExpireSessionsAsync)\(")]
    private static partial Regex SessionStatusWrite();

    [GeneratedRegex(@"\bIServiceProvider\b|\bGetRequiredService\b|\bGetService\s*<")]
    private static partial Regex ServiceLocator();
}
