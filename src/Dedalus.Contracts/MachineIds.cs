using System.Diagnostics.CodeAnalysis;

namespace Dedalus.Contracts;

/// <summary>
/// Machine ids. Responses carry the bare lowercase uuid (the current contract); paths and user input may carry it
/// with the <c>dm-</c> prefix of older clients, in any case. Inside the server (store, runtime, logs) the canonical form
/// is <c>dm-&lt;lowercase uuid&gt;</c>. The one parser the server, the SDK and the CLI share.
/// </summary>
public static class MachineIds
{
    /// <summary>The prefix of the canonical form.</summary>
    public const string Prefix = "dm-";

    /// <summary>The canonical id of <paramref name="uuid"/>: <c>dm-</c> and the lowercase uuid.</summary>
    /// <param name="uuid">The machine's uuid.</param>
    /// <returns>The canonical machine id.</returns>
    public static string Format(Guid uuid) => Prefix + uuid.ToString("D");

    /// <summary>The form responses carry: the bare lowercase uuid of a canonical <c>dm-&lt;uuid&gt;</c> id.</summary>
    /// <param name="machineId">A canonical machine id.</param>
    /// <returns>The id without its <c>dm-</c> prefix.</returns>
    public static string Wire(string machineId) =>
        machineId.StartsWith(Prefix, StringComparison.Ordinal) ? machineId[Prefix.Length..] : machineId;

    /// <summary>
    /// Parses <c>dm-&lt;uuid&gt;</c> or a bare uuid (hyphenated, 36 characters, any case) into the canonical form.
    /// Nothing else is a machine id: no braces, no surrounding white space, no path characters.
    /// </summary>
    /// <param name="text">The text to parse.</param>
    /// <param name="machineId">The canonical <c>dm-&lt;uuid&gt;</c> form when valid.</param>
    /// <returns><see langword="true"/> when <paramref name="text"/> is a machine id.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out string? machineId)
    {
        machineId = null;
        if (text is null)
        {
            return false;
        }

        var uuid = text.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? text.AsSpan(Prefix.Length) : text.AsSpan();
        if (uuid.Length != 36 || !Guid.TryParseExact(uuid, "D", out var parsed))
        {
            return false;
        }

        machineId = Format(parsed);
        return true;
    }
}

/// <summary>
/// Machine names: optional, unique in an organization, usable in paths and in the CLI wherever a machine id goes.
/// 1 to 63 characters, no control characters, no <c>/</c>, no white space at either end, and never something that
/// reads as a machine id or starts with <c>dm-</c> (so a path segment is an id or a name, never both, and a mistyped id
/// is a 400 rather than a name that is not found).
/// </summary>
public static class MachineNames
{
    /// <summary>The longest name.</summary>
    public const int MaxLength = 63;

    /// <summary>Why <paramref name="name"/> is not a valid machine name, or <see langword="null"/> when it is.</summary>
    /// <param name="name">The proposed name.</param>
    /// <returns>A sentence naming the problem, or null.</returns>
    public static string? Problem(string name)
    {
        if (name.Length is 0 or > MaxLength)
        {
            return $"must be 1 to {MaxLength} characters";
        }

        if (char.IsWhiteSpace(name[0]) || char.IsWhiteSpace(name[^1]))
        {
            return "must not start or end with white space";
        }

        if (name is "." or "..")
        {
            return "must not be '.' or '..' (no URL path can carry them)";
        }

        foreach (var c in name)
        {
            if (char.IsControl(c) || c == '/')
            {
                return "must not contain control characters or '/'";
            }
        }

        return MachineIds.TryParse(name, out _) || name.StartsWith(MachineIds.Prefix, StringComparison.OrdinalIgnoreCase)
            ? "must not look like a machine id (a uuid, or anything starting with dm-)"
            : null;
    }
}
