using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Dedalus.Cli.Commands;

namespace Dedalus.Cli;

/// <summary>The <c>dedalus</c> command tree and its entry point.</summary>
internal static class DedalusCli
{
    public static async Task<int> RunAsync(string[] args)
    {
        var global = new GlobalOptions();
        var root = new RootCommand(
            "dedalus: on-demand Linux machines with short-lived certificate-based OpenSSH access.\n" +
            "Configuration: the flags; else DEDALUS_API_KEY (Bearer) or DEDALUS_X_API_KEY with DEDALUS_ORG_ID and DEDALUS_BASE_URL, all from\n" +
            "the environment; else all from a dev server's ~/.config/dedalus/dev.env. `dedalus doctor` shows what was found where.\n" +
            "Exit codes: 0 ok, 1 error, 2 usage, 10 auth, 11 not found, 12 rate limited, 13 other 4xx, 14 5xx, 15 connection/timeout;\n" +
            "`dedalus ssh` and `dedalus machines exec` exit with the command's own code (128+N after signal N), and exec with 125 when\n" +
            "the command ended without one (timeout, could not start, machine stopped); 130/143 after Ctrl-C/SIGTERM.");
        global.AddTo(root);
        root.Add(SshCommand.Create(global));
        root.Add(MachinesCommands.Create(global));
        root.Add(SshConfigCommand.Create());
        root.Add(SshCertCommand.Create(global));
        root.Add(AutoresizingCommands.Organization(global));
        root.Add(DoctorCommand.Create(global));
        AddOfficialSpellings(root, global);
        root.WithHelp("""
            Examples:
              dedalus machines create --vcpu 1 --memory-mib 1024 --storage-gib 2 --name web-1
              dedalus machines list
              dedalus ssh <machine_id or name>
              dedalus ssh <machine_id> -- uname -a
              dedalus machines exec <machine_id> -- uname -a
              dedalus ssh-config --install && ssh <machine_id>
              dedalus doctor

            The official CLI's spellings work too: machines:ssh, machines:executions, machines:autoresizing and
            organization:autoresizing, with their retrieve, update --enabled and delete.
            """);
        HelpExtras.Install(root);

        // No response files: `--public-key @path` means a key file, and ssh arguments may start with '@'.
        var parseResult = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parseResult.Errors.Count > 0)
        {
            var command = parseResult.CommandResult.Command;
            var path = command == root ? "dedalus" : "dedalus " + string.Join(' ', Ancestry(parseResult));
            return CommandRunner.Fail($"{Explain(parseResult, command)}: see `{path} --help`", ExitCodes.Usage);
        }

        // Signals are CommandRunner's (one model for every command, ssh included): System.CommandLine must not handle them.
        return await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
    }

    /// <summary>
    /// The official CLI's resource commands spelled with a colon (<c>dedalus machines:ssh list</c>, as its generated
    /// manual lists them), as hidden copies of ours, so scripts written for it run unchanged; help shows our spelling once.
    /// </summary>
    private static void AddOfficialSpellings(RootCommand root, GlobalOptions global)
    {
        Command[] spellings =
        [
            SshSessionsCommands.Create(global, "machines:ssh"),
            ExecutionsCommands.Create(global, "machines:executions"),
            AutoresizingCommands.ForMachines(global, "machines:autoresizing"),
            AutoresizingCommands.ForOrganization(global, "organization:autoresizing"),
        ];
        foreach (var command in spellings)
        {
            command.Hidden = true;
            root.Add(command);
        }
    }

    /// <summary>
    /// The most useful parse error, in words a user knows: a mistyped command rather than "required command was not
    /// provided", the missing argument's name, and "a whole number" rather than "System.Int64". Decided on the parse
    /// tree (unmatched tokens, the command's required options and arguments, the values given), never on the text of
    /// System.CommandLine's messages; what none of that explains (a validator's own message) is shown as it is.
    /// </summary>
    private static string Explain(ParseResult parseResult, Command command)
    {
        if (parseResult.UnmatchedTokens.Count > 0)
        {
            return $"Unrecognized command or argument '{parseResult.UnmatchedTokens[0]}'";
        }

        var given = GivenOptions(parseResult).ToList();
        if (given.FirstOrDefault(r => r.Tokens.Count == 0 && r.Option.Arity.MinimumNumberOfValues > 0) is { } empty)
        {
            return $"{empty.Option.Name} needs a value";
        }

        if (command.Action is null && command.Subcommands.Count > 0)
        {
            return "missing command: one of " + string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name));
        }

        var missingOptions = command.Options.Where(o => o.Required && parseResult.GetResult(o) is not OptionResult { Implicit: false }).Select(o => o.Name).ToList();
        if (missingOptions.Count > 0)
        {
            return "missing " + string.Join(", ", missingOptions);
        }

        var missingArguments = command.Arguments
            .Where(a => a.Arity.MinimumNumberOfValues > 0 && (parseResult.GetResult(a)?.Tokens.Count ?? 0) == 0)
            .Select(a => "<" + a.Name + ">")
            .ToList();
        if (missingArguments.Count > 0)
        {
            return "missing " + string.Join(" ", missingArguments);
        }

        foreach (var result in given)
        {
            if (IsWholeNumber(result.Option.ValueType) is { } whole && result.Tokens.FirstOrDefault(t => !IsNumber(t.Value, whole)) is { } token)
            {
                return $"{result.Option.Name} must be {(whole ? "a whole number" : "a number")}, not '{token.Value}'";
            }
        }

        return ParseErrorText(parseResult.Errors[0].Message);
    }

    /// <summary>The options written on the command line (not those filled in by a default), from the command up to the root.</summary>
    private static IEnumerable<OptionResult> GivenOptions(ParseResult parseResult)
    {
        for (SymbolResult? result = parseResult.CommandResult; result is not null; result = result.Parent)
        {
            if (result is CommandResult command)
            {
                foreach (var option in command.Children.OfType<OptionResult>().Where(o => !o.Implicit))
                {
                    yield return option;
                }
            }
        }
    }

    /// <summary>Whether an option's values are whole numbers (true), other numbers (false), or not numbers (null).</summary>
    private static bool? IsWholeNumber(Type valueType) => (Nullable.GetUnderlyingType(valueType) ?? valueType) switch
    {
        var t when t == typeof(int) || t == typeof(long) => true,
        var t when t == typeof(double) || t == typeof(decimal) || t == typeof(float) => false,
        _ => null,
    };

    private static bool IsNumber(string text, bool whole) => whole
        ? long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
        : double.TryParse(text, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out _);

    /// <summary>System.CommandLine's messages, on one line: its list of allowed values is tab-separated.</summary>
    internal static string ParseErrorText(string message)
    {
        var text = message.TrimEnd('.');
        if (text.Contains('\t', StringComparison.Ordinal))
        {
            text = string.Join(", ", text.Split('\t', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Replace(":,", ":", StringComparison.Ordinal);
        }

        return text;
    }

    private static IEnumerable<string> Ancestry(ParseResult parseResult)
    {
        var names = new Stack<string>();
        for (var result = parseResult.CommandResult; result.Parent is CommandResult parent; result = parent)
        {
            names.Push(result.Command.Name);
        }

        return names;
    }
}
