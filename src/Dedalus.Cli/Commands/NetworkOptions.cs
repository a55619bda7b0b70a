using System.CommandLine;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>--egress</c>, <c>--allow-cidr</c> and <c>--deny-cidr</c> of <c>machines create</c> and <c>machines update</c>:
/// the machine's <c>network</c> object (an extension of this server; the server checks every CIDR and names a bad one).
/// </summary>
internal sealed class NetworkOptions
{
    private const string NoneKeyword = "none";

    private readonly Option<string?> _egress = new Option<string?>("--egress")
    {
        Description = "Outbound access: open (the internet, without the host, other machines and private ranges) or none",
    }.AcceptOnlyFromAmong(EgressModes.Open, EgressModes.None);

    private readonly Option<string[]> _allow;
    private readonly Option<string[]> _deny;

    public NetworkOptions(bool update)
    {
        var replaces = update ? "; replaces the machine's list, `none` empties it" : string.Empty;
        _allow = new Option<string[]>("--allow-cidr")
        {
            Description = "A range the machine may reach although private by default, e.g. 10.20.0.0/16 (repeat or comma-separate" + replaces + ")",
            AllowMultipleArgumentsPerToken = false,
        };
        _deny = new Option<string[]>("--deny-cidr")
        {
            Description = "A range the machine may not reach, e.g. 203.0.113.0/24 (repeat or comma-separate" + replaces + ")",
            AllowMultipleArgumentsPerToken = false,
        };
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_egress);
        command.Options.Add(_allow);
        command.Options.Add(_deny);
    }

    /// <summary>Whether any of the options was given.</summary>
    public bool AnyGiven(ParseResult parseResult) => Get(parseResult) is not null;

    /// <summary>The <c>network</c> object the options ask for; null when none was given.</summary>
    public MachineNetworkSettings? Get(ParseResult parseResult)
    {
        var egress = parseResult.GetValue(_egress);
        var allow = Cidrs(parseResult, _allow);
        var deny = Cidrs(parseResult, _deny);
        return egress is null && allow is null && deny is null ? null : new MachineNetworkSettings(egress, allow, deny);
    }

    private static List<string>? Cidrs(ParseResult parseResult, Option<string[]> option)
    {
        if (parseResult.GetResult(option) is null || parseResult.GetValue(option) is not { } values)
        {
            return null;
        }

        var cidrs = values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        return cidrs is [NoneKeyword] ? [] : cidrs;
    }
}
