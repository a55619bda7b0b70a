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

        // No response files: `--public-key @path` means a key file, and ssh arguments may start with '@'.
        var parseResult = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parseResult.Errors.Count > 0)
        {
            var command = parseResult.CommandResult.Command;
            var path = command == root ? "dedalus" : "dedalus " + string.Join(' ', Ancestry(parseResult));
            return CommandRunner.Fail($"{parseResult.Errors[0].Message.TrimEnd('.')}: see `{path} --help`", ExitCodes.Usage);
        }

        return await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
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
