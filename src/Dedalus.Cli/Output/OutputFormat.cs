namespace Dedalus.Cli.Output;

/// <summary>Output formats of <c>--format</c>.</summary>
internal enum OutputFormat
{
    /// <summary>Indented JSON; a list is one array.</summary>
    Json,

    /// <summary>One compact JSON value per line; a list is one line per item.</summary>
    Jsonl,

    /// <summary>YAML.</summary>
    Yaml,

    /// <summary>For people: aligned key/value lines, tables for lists.</summary>
    Pretty,

    /// <summary>Compact JSON on one line; a list is one array.</summary>
    Raw,
}
