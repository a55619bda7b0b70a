using System.CommandLine;
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
            "Configuration: DEDALUS_BASE_URL, DEDALUS_API_KEY (Bearer), DEDALUS_X_API_KEY, DEDALUS_ORG_ID, or the flags; a dev server's\n" +
            "~/.config/dedalus/dev.env is read when they are absent.\n" +
            "Exit codes: 0 ok, 1 error, 2 usage, 10 auth, 11 not found, 12 rate limited, 13 other 4xx, 14 5xx, 15 connection/timeout.");
        global.AddTo(root);
        root.Add(SshCommand.Create(global));
        root.Add(MachinesCommands.Create(global));
        root.Add(SshConfigCommand.Create());
        root.Add(SshCertCommand.Create(global));
        root.WithHelp("""
            Examples:
              dedalus machines create --vcpu 1 --memory-mib 1024 --storage-gib 2
              dedalus machines list
              dedalus ssh dm-<uuid>
              dedalus ssh dm-<uuid> -- uname -a
              dedalus ssh-config --install && ssh dm-<uuid>
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
    /// The most useful parse error, in words a user knows: a mistyped command rather than "required command was not
    /// provided", the missing argument's name, and "a whole number" rather than "System.Int64".
    /// </summary>
    private static string Explain(ParseResult parseResult, Command command)
    {
        var errors = parseResult.Errors.Select(e => e.Message).ToList();
        var message = errors.FirstOrDefault(m => m.StartsWith("Unrecognized command or argument", StringComparison.Ordinal)) ?? errors[0];
        if (message.StartsWith("Required command was not provided", StringComparison.Ordinal))
        {
            var names = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name);
            return "missing command: one of " + string.Join(", ", names);
        }

        var option = System.Text.RegularExpressions.Regex.Match(message, "^Required argument missing for option: '(?<option>[^']+)'");
        if (option.Success)
        {
            return $"{option.Groups["option"].Value} needs a value";
        }

        var required = errors
            .Select(m => System.Text.RegularExpressions.Regex.Match(m, "^Option '(?<option>[^']+)' is required"))
            .Where(m => m.Success)
            .Select(m => m.Groups["option"].Value)
            .ToList();
        if (required.Count > 0 && message.StartsWith("Option '", StringComparison.Ordinal))
        {
            return "missing " + string.Join(", ", required);
        }

        if (message.StartsWith("Required argument missing", StringComparison.Ordinal))
        {
            var names = command.Arguments.Where(a => a.Arity.MinimumNumberOfValues > 0).Select(a => "<" + a.Name + ">");
            return "missing " + string.Join(" ", names);
        }

        var match = System.Text.RegularExpressions.Regex.Match(
            message, "^Cannot parse argument '(?<value>.*)' for option '(?<option>[^']+)' as expected type '(?<type>[^']+)'");
        if (match.Success)
        {
            var kind = match.Groups["type"].Value.Contains("Int", StringComparison.Ordinal) ? "a whole number" : "a number";
            return $"{match.Groups["option"].Value} must be {kind}, not '{match.Groups["value"].Value}'";
        }

        return ParseErrorText(message);
    }

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
        for (var result = parseResult.CommandResult; result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent)
        {
            names.Push(result.Command.Name);
        }

        return names;
    }
}
