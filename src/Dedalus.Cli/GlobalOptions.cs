using System.CommandLine;
using System.Text.Json.Serialization.Metadata;
using Dedalus.Cli.Configuration;
using Dedalus.Cli.Output;
using Dedalus.Client;

namespace Dedalus.Cli;

/// <summary>The options every command accepts, and what a command builds from them.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> BaseUrl { get; } = new("--base-url")
    {
        Description = "API root, e.g. http://127.0.0.1:8080 (default: DEDALUS_BASE_URL, then ~/.config/dedalus/dev.env)",
        Recursive = true,
    };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = "API key sent as a Bearer token (default: DEDALUS_API_KEY, then ~/.config/dedalus/dev.env)",
        Recursive = true,
    };

    public Option<string?> OrgId { get; } = new("--org-id", "--dedalus-org-id", "--x-dedalus-org-id")
    {
        Description = "Org id sent as X-Dedalus-Org-Id (default: DEDALUS_ORG_ID)",
        Recursive = true,
    };

    private HttpClient? _http;

    public Option<string?> Format { get; } = CreateFormat();

    public void AddTo(RootCommand root)
    {
        root.Add(BaseUrl);
        root.Add(ApiKey);
        root.Add(OrgId);
        root.Add(Format);
    }

    public DedalusClient CreateClient(ParseResult parseResult, TimeSpan? timeout = null)
    {
        var options = CliSettings.Resolve(parseResult.GetValue(BaseUrl), parseResult.GetValue(ApiKey), parseResult.GetValue(OrgId));
        if (timeout is { } t)
        {
            options = options with { Timeout = t };
        }

        // One HttpClient for the life of the process (a command makes one client, sometimes two).
        _http ??= new HttpClient(new SlowAnswerNotice(TimeSpan.FromSeconds(5), options.Timeout, options.MaxRetries + 1))
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
        return new DedalusClient(options, _http);
    }

    /// <summary>Prints a command's result in the chosen format; returns the success exit code for the command to return.</summary>
    public int Print<T>(ParseResult parseResult, T value, JsonTypeInfo<T> typeInfo)
    {
        CreateOutput(parseResult).Write(value, typeInfo);
        return ExitCodes.Ok;
    }

    /// <inheritdoc cref="Print{T}(ParseResult, T, JsonTypeInfo{T})"/>
    public int PrintList<T>(ParseResult parseResult, IReadOnlyList<T> values, JsonTypeInfo<T> typeInfo)
    {
        CreateOutput(parseResult).WriteList(values, typeInfo);
        return ExitCodes.Ok;
    }

    public OutputWriter CreateOutput(ParseResult parseResult)
    {
        var format = parseResult.GetValue(Format) switch
        {
            "json" => OutputFormat.Json,
            "yaml" => OutputFormat.Yaml,
            "pretty" => OutputFormat.Pretty,
            "raw" => OutputFormat.Raw,
            _ => Console.IsOutputRedirected ? OutputFormat.Json : OutputFormat.Pretty,
        };
        return new OutputWriter(Console.Out, format);
    }

    private static Option<string?> CreateFormat()
    {
        var option = new Option<string?>("--format")
        {
            Description = "Output format: json, yaml, pretty or raw (default: pretty on a terminal, json otherwise)",
            Recursive = true,
            HelpName = "json|yaml|pretty|raw",
        };
        option.AcceptOnlyFromAmong("json", "yaml", "pretty", "raw");
        return option;
    }
}
