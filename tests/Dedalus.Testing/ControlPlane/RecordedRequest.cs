namespace Dedalus.Testing.ControlPlane;

/// <summary>One request a <see cref="StubApi"/> received.</summary>
public sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}
