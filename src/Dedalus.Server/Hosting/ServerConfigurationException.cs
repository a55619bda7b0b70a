namespace Dedalus.Server.Hosting;

/// <summary>The configuration has bad values; <see cref="Errors"/> names each one and what it must be.</summary>
public sealed class ServerConfigurationException(IReadOnlyList<string> errors)
    : Exception("invalid configuration: " + string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
