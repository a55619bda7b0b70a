using System.CommandLine;
using System.CommandLine.Parsing;

namespace Dedalus.Server.Hosting;

/// <summary>
/// <c>dedalus-server</c>'s command line (System.CommandLine): the server with its options, <c>apikey create</c>, <c>quota</c>, <c>ca</c>,
/// <c>--help</c>, <c>--version</c>, and usage errors on one line. Exit codes: 0 ok, 1 failure, 2 usage or configuration error.
/// </summary>
public static class ServerCommand
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    private static readonly string ExtraConfigurationHelp = $"""
        Every setting also comes from its DEDALUS_* variable or the Dedalus section of appsettings.json (in the working
        directory); the command line beats the environment, which beats appsettings.json. Any configuration key can be
        given as --Section:Key VALUE too, for example --Dedalus:SweepInterval 00:00:01 or --Logging:LogLevel:Default Warning.
        Settings without an option of their own: {string.Join("; ", ServerConfiguration.Settings.Where(s => s.Flag is null).Select(s => $"Dedalus:{s.Key}: {s.Description}"))}.
        Every value is checked at start-up, before anything is written, and all bad values are reported at once.
        Exit codes: 0 ok, 1 failure, 2 usage or configuration error.
        """;

    public static Task<int> RunAsync(string[] args) => RunAsync(args, System.Console.Out, System.Console.Error);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var (commandLine, configurationArgs) = SplitConfigurationArgs(args);
        if (configurationArgs.Problem is { } problem)
        {
            return Usage(error, problem);
        }

        var (root, options, urls) = CreateRoot();
        root.SetAction((parseResult, cancellationToken) =>
            ServerApp.RunAsync(ToArguments(parseResult, options, urls, configurationArgs.Args), error));
        root.Add(ApiKeyCommand.Create(error));
        root.Add(QuotaCommand.Create(error));
        root.Add(CaCommand.Create(error));

        var parseResult = root.Parse(commandLine);
        if (parseResult.Errors.Count > 0)
        {
            var path = new List<string>();
            for (var result = parseResult.CommandResult; result.Parent is CommandResult parent; result = parent)
            {
                path.Insert(0, result.Command.Name);
            }

            return Usage(error, parseResult.Errors[0].Message.TrimEnd('.'), path.Count == 0 ? null : string.Join(' ', path));
        }

        // ProcessTerminationTimeout null: SIGTERM and SIGINT are the host's (a graceful stop: every hosted service's
        // StopAsync, the machine network's shutdown among them). System.CommandLine's own handling ended the process
        // with 143 about 2 s after the signal, before the services had stopped.
        return await parseResult.InvokeAsync(
            new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null })
            .ConfigureAwait(false);
    }

    /// <summary>Parses the server's command line (no subcommand) into <see cref="ServerArguments"/>; tests and benchmarks build the server with it.</summary>
    /// <exception cref="ServerConfigurationException">The command line is not valid.</exception>
    public static ServerArguments ParseServerArguments(string[] args)
    {
        var (commandLine, configurationArgs) = SplitConfigurationArgs(args);
        if (configurationArgs.Problem is { } problem)
        {
            throw new ServerConfigurationException([problem]);
        }

        var (root, options, urls) = CreateRoot();
        var parseResult = root.Parse(commandLine);
        return parseResult.Errors.Count > 0
            ? throw new ServerConfigurationException([.. parseResult.Errors.Select(e => e.Message)])
            : ToArguments(parseResult, options, urls, configurationArgs.Args);
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
            "dedalus-server: the Dedalus Machines control plane (HTTP API, SSH gateway and runc machines) in one process.\n\n" + ExtraConfigurationHelp);
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

    /// <summary>The values of the options given on the command line, by configuration key.</summary>
    private static ServerArguments ToArguments(ParseResult parseResult, IReadOnlyDictionary<ServerSetting, Option> options, Option<string?> urls, IReadOnlyList<string> configurationArgs)
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

        return new ServerArguments(values, parseResult.GetValue(urls) is { } urlList ? ["--urls", urlList, .. configurationArgs] : configurationArgs);
    }

    /// <summary>
    /// Takes the <c>--Section:Key VALUE</c> (or <c>--Section:Key=VALUE</c>) pairs out of the command line: they go to
    /// ASP.NET's configuration as they are; the rest is parsed strictly.
    /// </summary>
    private static (string[] CommandLine, (IReadOnlyList<string> Args, string? Problem) Configuration) SplitConfigurationArgs(string[] args)
    {
        var commandLine = new List<string>(args.Length);
        var configuration = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i].Split('=', 2)[0];
            if (!name.StartsWith("--", StringComparison.Ordinal) || !name.Contains(':', StringComparison.Ordinal))
            {
                commandLine.Add(args[i]);
                continue;
            }

            if (name.Length < 5 || name.StartsWith("--:", StringComparison.Ordinal) || name.EndsWith(':'))
            {
                return ([], ([], $"'{args[i]}' is not a configuration key (--Section:Key VALUE)"));
            }

            configuration.Add(args[i]);
            if (!args[i].Contains('=', StringComparison.Ordinal))
            {
                if (i + 1 >= args.Length)
                {
                    return ([], ([], $"{args[i]} needs a value"));
                }

                configuration.Add(args[++i]);
            }
        }

        return ([.. commandLine], (configuration, null));
    }
}
