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
        Description = "API root, e.g. http://127.0.0.1:8080 (default: DEDALUS_BASE_URL with an environment key, else the dev.env file's)",
        Recursive = true,
    };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = "API key sent as a Bearer token (default: DEDALUS_API_KEY or DEDALUS_X_API_KEY, then ~/.config/dedalus/dev.env; %APPDATA%\\dedalus\\dev.env on Windows)",
        Recursive = true,
    };

    public Option<string?> OrgId { get; } = new("--org-id", "--dedalus-org-id", "--x-dedalus-org-id")
    {
        Description = "Org id sent as X-Dedalus-Org-Id (default: DEDALUS_ORG_ID from where the key came from)",
        Recursive = true,
    };

    public Option<bool> Debug { get; } = new("--debug")
    {
        Description = "Print each HTTP request and answer on stderr (credentials redacted, bodies cut at 2 KiB)",
        Recursive = true,
    };

    public Option<bool> RawOutput { get; } = new("--raw-output", "-r")
    {
        Description = "Print a string result without JSON quotes, and a list one item per line (as jq -r)",
        Recursive = true,
    };

    public Option<string?> Transform { get; } = CreateTransform();

    public Option<string?> Format { get; } = CreateFormat();

    private HttpClient? _http;

    public void AddTo(RootCommand root)
    {
        root.Add(BaseUrl);
        root.Add(ApiKey);
        root.Add(OrgId);
        root.Add(Format);
        root.Add(Transform);
        root.Add(RawOutput);
        root.Add(Debug);
    }

    /// <summary>The settings the flags, the environment and the dev credentials file give, with their sources.</summary>
    public ResolvedSettings ResolveSettings(ParseResult parseResult) =>
        CliSettings.Resolve(parseResult.GetValue(BaseUrl), parseResult.GetValue(ApiKey), parseResult.GetValue(OrgId));

    public DedalusClient CreateClient(ParseResult parseResult, TimeSpan? timeout = null)
    {
        var options = CliSettings.Require(ResolveSettings(parseResult));
        if (timeout is { } t)
        {
            options = options with { Timeout = t };
        }

        return new DedalusClient(options, Http(parseResult, options));
    }

    /// <summary>
    /// The process's one HttpClient (a command makes one client, sometimes two): the slow-answer notice, and with
    /// <c>--debug</c> the request log in front of it.
    /// </summary>
    public HttpClient Http(ParseResult parseResult, DedalusClientOptions options)
    {
        if (_http is null)
        {
            HttpMessageHandler handler = new SlowAnswerNotice(TimeSpan.FromSeconds(5), options.Timeout, options.MaxRetries + 1);
            if (parseResult.GetValue(Debug))
            {
                handler = new DebugLog(handler, Console.Error);
            }

            _http = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        }

        return _http;
    }

    /// <summary>Prints a command's result in the chosen format; returns the success exit code for the command to return.</summary>
    public int Print<T>(ParseResult parseResult, T value, JsonTypeInfo<T> typeInfo, IReadOnlyList<string>? leadingColumns = null)
    {
        CreateOutput(parseResult, leadingColumns).Write(value, typeInfo);
        return ExitCodes.Ok;
    }

    /// <inheritdoc cref="Print{T}(ParseResult, T, JsonTypeInfo{T}, IReadOnlyList{string}?)"/>
    public int PrintList<T>(ParseResult parseResult, IReadOnlyList<T> values, JsonTypeInfo<T> typeInfo, IReadOnlyList<string>? leadingColumns = null)
    {
        CreateOutput(parseResult, leadingColumns).WriteList(values, typeInfo);
        return ExitCodes.Ok;
    }

    public OutputFormat GetFormat(ParseResult parseResult) => parseResult.GetValue(Format) switch
    {
        "json" => OutputFormat.Json,
        "jsonl" => OutputFormat.Jsonl,
        "yaml" => OutputFormat.Yaml,
        "pretty" => OutputFormat.Pretty,
        "raw" => OutputFormat.Raw,
        _ => Console.IsOutputRedirected ? OutputFormat.Json : OutputFormat.Pretty,
    };

    public OutputWriter CreateOutput(ParseResult parseResult, IReadOnlyList<string>? leadingColumns = null) =>
        new(Console.Out, GetFormat(parseResult), parseResult.GetValue(Transform), parseResult.GetValue(RawOutput)) { LeadingColumns = leadingColumns ?? [] };

    private static Option<string?> CreateFormat()
    {
        var option = new Option<string?>("--format")
        {
            Description = "Output format: json, jsonl (one compact value per line; a list one item per line), yaml, pretty or raw " +
                "(compact JSON); auto or none: pretty on a terminal, json otherwise",
            Recursive = true,
            HelpName = "json|jsonl|yaml|pretty|raw|auto",
        };
        option.AcceptOnlyFromAmong("json", "jsonl", "yaml", "pretty", "raw", "auto");
        return option;
    }

    private static Option<string?> CreateTransform()
    {
        var option = new Option<string?>("--transform")
        {
            Description = "Print only this part of the result (of each item of a list): a dot path such as machine_id or status.phase",
            Recursive = true,
            HelpName = "path",
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens is [.., var last] && JsonPath.Problem(last.Value) is { } problem)
            {
                result.AddError($"--transform {problem}");
            }
        });
        return option;
    }
}
