namespace Dedalus.Machines.Host;

/// <summary>The outcome of a finished host command.</summary>
internal sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;
}
