namespace Dedalus.Server.Hosting;

/// <summary>
/// What the command line says about the server's configuration: the values of its options, by configuration key,
/// and the arguments for ASP.NET's own command-line configuration (<c>--urls</c>, <c>--Section:Key value</c>).
/// </summary>
public sealed record ServerArguments(IReadOnlyDictionary<string, string?> Values, IReadOnlyList<string> ConfigurationArgs)
{
    public static readonly ServerArguments None = new(new Dictionary<string, string?>(), []);
}
