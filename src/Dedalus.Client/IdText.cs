namespace Dedalus.Client;

/// <summary>Caller-supplied text as an error message quotes it: short, control characters as '?'.</summary>
internal static class IdText
{
    private const int MaxShown = 64;

    public static string Shown(string text)
    {
        var clean = new string([.. text.Take(MaxShown).Select(c => char.IsControl(c) ? '?' : c)]);
        return text.Length > MaxShown ? clean + "..." : clean;
    }
}
