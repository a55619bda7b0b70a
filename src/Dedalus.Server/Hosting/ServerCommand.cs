using System.CommandLine;

namespace Dedalus.Server.Hosting;

/// <summary>
/// <c>dedalus-server</c>'s command line (System.CommandLine): the server with its options, <c>apikey create</c>,
/// <c>--help</c>, <c>--version</c>, and usage errors on one line. Exit codes: 0 ok, 1 failure, 2 usage or configuration error.
/// </summary>
public static class ServerCommand
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    private const string ExtraConfigurationHelp = """
        Every setting also comes from its DEDALUS_* variable or the Dedalus section of appsettings.json (in the working
        directory); the command line beats the environment, which beats appsettings.json. Any configuration key can be
        given as --Section:Key VALUE too, for example --Dedalus:SweepInterval 00:00:01 or --Logging:LogLevel:Default Warning.
        Every value is checked at start-up, before anything is written: all bad values are reported at once (exit 2).
        """;

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var (root, options, urls) = CreateRoot();
        root.SetAction(async (parseResult, cancellationToken) =>
        {
            if (ToArguments(parseResult, options, urls, out var arguments) is { } usage)
            {
                return Usage(error, usage);
            }

            return await ServerApp.RunAsync(arguments, error).ConfigureAwait(false);
        });
        root.Add(ApiKeyCommand.Create(error));

        var parseResult = root.Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            return Usage(error, parseResult.Errors[0].Message.TrimEnd('.'), parseResult.CommandResult.Command == root ? null : parseResult.CommandResult.Command.Name);
        }

        return await parseResult.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
    }

    /// <summary>Parses the server's command line (no subcommand) into <see cref="ServerArguments"/>; tests and benchmarks build the server with it.</summary>
    /// <exception cref="ServerConfigurationException">The command line is not valid.</exception>
    public static ServerArguments ParseServerArguments(string[] args)
    {
        var (root, options, urls) = CreateRoot();
        var parseResult = root.Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            throw new ServerConfigurationException([.. parseResult.Errors.Select(e => e.Message)]);
        }

        return ToArguments(parseResult, options, urls, out var arguments) is { } usage ? throw new ServerConfigurationException([usage]) : arguments;
    }

    public static int Usage(TextWriter error, string message, string? subcommand = null)
    {
        var help = subcommand is null ? "dedalus-server --help" : $"dedalus-server {subcommand} --help";
        error.WriteLine($"dedalus-server: {message}: see `{help}`");
        return ExitUsage;
    }

    private static (RootCommand Root, IReadOnlyDictionary<ServerSetting, Option> Options, Option<string?> Urls) CreateRoot()
    {
        var root = new RootCommand(
            "dedalus-server: the Dedalus Machines control plane (HTTP API, SSH gateway and runc machines) in one process.\n\n" + ExtraConfigurationHelp)
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        var options = new Dictionary<ServerSetting, Option>();
        foreach (var setting in ServerConfiguration.Settings)
        {
            if (setting.Flag is null)
            {
                continue;
            }

            var description = $"{setting.Description} (env {setting.Environment})";
            Option option = setting.IsSwitch
                ? new Option<bool?>(setting.Flag) { Description = description, HelpName = setting.HelpName, Arity = ArgumentArity.ZeroOrOne }
                : new Option<string?>(setting.Flag) { Description = description, HelpName = setting.HelpName };
            options[setting] = option;
            root.Add(option);
        }

        var urls = new Option<string?>("--urls") { Description = "Kestrel URLs of the HTTP API, ';'-separated: instead of --listen", HelpName = "URLS" };
        root.Add(urls);
        return (root, options, urls);
    }

    /// <summary>The values given on the command line; a usage error when unmatched tokens are not <c>--Section:Key VALUE</c> pairs.</summary>
    private static string? ToArguments(ParseResult parseResult, IReadOnlyDictionary<ServerSetting, Option> options, Option<string?> urls, out ServerArguments arguments)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (setting, option) in options)
        {
            if (parseResult.GetResult(option) is not { Implicit: false })
            {
                continue;
            }

            values[setting.ConfigurationKey] = option switch
            {
                Option<bool?> flag => (parseResult.GetValue(flag) ?? true) ? "true" : "false",
                Option<string?> text => parseResult.GetValue(text),
                _ => throw new InvalidOperationException($"unexpected option type for {setting.Flag}"),
            };
        }

        var configurationArgs = new List<string>();
        if (parseResult.GetValue(urls) is { } urlList)
        {
            configurationArgs.AddRange(["--urls", urlList]);
        }

        var unmatched = parseResult.UnmatchedTokens;
        for (var i = 0; i < unmatched.Count; i++)
        {
            var token = unmatched[i];
            var name = token.Split('=', 2)[0];
            if (!name.StartsWith("--", StringComparison.Ordinal) || !name.Contains(':', StringComparison.Ordinal) || name.Length < 5)
            {
                arguments = ServerArguments.None;
                return token.StartsWith('-') ? $"unknown option '{token}'" : $"unexpected argument '{token}'";
            }

            configurationArgs.Add(token);
            if (!token.Contains('=', StringComparison.Ordinal))
            {
                if (i + 1 >= unmatched.Count || unmatched[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    arguments = ServerArguments.None;
                    return $"{token} needs a value";
                }

                configurationArgs.Add(unmatched[++i]);
            }
        }

        arguments = new ServerArguments(values, configurationArgs);
        return null;
    }
}
