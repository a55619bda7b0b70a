namespace Dedalus.Cli;

/// <summary>A failure the CLI reports as one line on stderr with a given exit code.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Error) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
