using System.CommandLine;

namespace Dedalus.Cli.Commands;

/// <summary>
/// The machine a command acts on: its id or name as the first argument (<c>dedalus machines reboot web-1</c>) or with
/// <c>--machine-id</c> (the official CLI's spelling, which takes a name too). Exactly one of the two; checked before
/// anything is sent.
/// </summary>
internal sealed class MachineTarget(bool required = true)
{
    public Argument<string?> Argument { get; } = new("machine")
    {
        Description = "Machine id (the uuid, or dm-<uuid>) or name; or --machine-id",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public Option<string> Option { get; } = MachinesCommands.MachineIdOption(required: false);

    public void AddTo(Command command)
    {
        Option.Description = "Machine id or name, instead of the first argument";
        command.Add(Argument);
        command.Add(Option);
        Argument.Validators.Add(result =>
        {
            if (result.Tokens is [.., var last] && !MachineIdInput.TryParseIdOrName(last.Value, out _, out var problem))
            {
                result.AddError(MachineIdInput.Error(last.Value, problem));
            }
        });
        command.Validators.Add(result =>
        {
            var positional = result.GetResult(Argument) is { Tokens.Count: > 0 };
            var flag = result.GetResult(Option) is { Implicit: false, Tokens.Count: > 0 };
            if (positional && flag)
            {
                result.AddError("the machine is given twice: pass it as the first argument or with --machine-id, not both");
            }
            else if (!positional && !flag && required)
            {
                result.AddError($"missing <machine>: pass {MachineIdInput.Shape} (or --machine-id)");
            }
        });
    }

    /// <summary>The canonical id, or the name as typed, of the validated machine.</summary>
    public string Get(ParseResult parseResult) => Find(parseResult) ?? string.Empty;

    /// <summary>The machine when one was given (an optional target).</summary>
    public string? Find(ParseResult parseResult)
    {
        var text = parseResult.GetValue(Argument) ?? parseResult.GetValue(Option);
        return text is null ? null : MachineIdInput.TryParseIdOrName(text, out var machine, out _) ? machine : text;
    }
}
