namespace Dedalus.Cli.Output;

/// <summary>Output formats of <c>--format</c>.</summary>
internal enum OutputFormat
{
    Json,
    Yaml,
    Pretty,
    Raw,
}
