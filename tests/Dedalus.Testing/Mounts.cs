namespace Dedalus.Testing;

/// <summary>The test's own reading of /proc/self/mountinfo (an oracle independent of the runtime's).</summary>
public static class Mounts
{
    /// <summary>Mount points at or below <paramref name="path"/>, deepest first.</summary>
    public static IReadOnlyList<string> Under(string path)
    {
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        return [.. File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(mountPoint => mountPoint == prefix || mountPoint.StartsWith(prefix + "/", StringComparison.Ordinal))
            .Reverse()];
    }
}
