using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Dedalus.Cli;

/// <summary>
/// Text printed after a command's generated <c>--help</c> (examples, details), so that the one-line description
/// stays one line in its parent's command list.
/// </summary>
internal static class HelpExtras
{
    private static readonly Dictionary<Command, string> Extras = [];

    public static T WithHelp<T>(this T command, string text)
        where T : Command
    {
        Extras[command] = text.TrimEnd();
        return command;
    }

    /// <summary>Wraps the root's help action so that it appends the extra text of the command asked about.</summary>
    public static void Install(RootCommand root)
    {
        foreach (var option in root.Options)
        {
            if (option is HelpOption { Action: HelpAction inner } help)
            {
                help.Action = new WithExtras(inner);
            }
        }
    }

    private sealed class WithExtras(HelpAction inner) : SynchronousCommandLineAction
    {
        /// <summary>Like the help it wraps: `dedalus ssh --help` shows help, not "required argument missing".</summary>
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            var exitCode = inner.Invoke(parseResult);
            if (Extras.TryGetValue(parseResult.CommandResult.Command, out var text))
            {
                Console.Out.WriteLine(text);
                Console.Out.WriteLine();
            }

            return exitCode;
        }
    }
}
