namespace Dedalus.Server.Hosting;

/// <summary>
/// One setting of <c>dedalus-server</c>: its configuration key in the <c>Dedalus</c> section (= the
/// <see cref="ServerOptions"/> property), its command-line option and its environment variable.
/// </summary>
/// <param name="Key">The key, without the section.</param>
/// <param name="Flag">The command-line option, or null when only appsettings (or <c>--Dedalus:Key</c>) set it.</param>
/// <param name="Environment">The environment variable, or null.</param>
/// <param name="HelpName">The value's shape in help.</param>
/// <param name="Description">What it does and its default, for help.</param>
/// <param name="IsSwitch">A flag that may stand alone to mean true (<c>--dev</c>).</param>
public sealed record ServerSetting(string Key, string? Flag, string? Environment, string HelpName, string Description, bool IsSwitch = false)
{
    public string ConfigurationKey => ServerOptions.Section + ":" + Key;
}
