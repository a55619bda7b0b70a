namespace Dedalus.Server.Console;

/// <summary>Where the console lives.</summary>
public static class ConsolePaths
{
    public const string Root = "/console";
    public const string SignIn = "/console/login";
    public const string Api = "/console/api";
    public const string Assets = "/console/assets";
}
