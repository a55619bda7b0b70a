using System.Reflection;

namespace Dedalus.Cli;

internal static class CliVersion
{
    public static readonly string Value =
        typeof(CliVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
