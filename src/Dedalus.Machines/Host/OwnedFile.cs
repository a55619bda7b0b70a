namespace Dedalus.Machines.Host;

/// <summary>Files replaced whole: written beside their final path, owned and moded, then renamed over it.</summary>
internal static class OwnedFile
{
    /// <summary>Write to a temporary file, set owner and mode, then rename: readers see the old or the new file, whole.</summary>
    public static void Write(string path, ReadOnlySpan<byte> contents, UnixFileMode mode, int owner) =>
        File.Move(Stage(path, contents, mode, owner), path, overwrite: true);

    /// <summary>A temporary file beside <paramref name="path"/> (same directory, so a rename replaces it atomically), owned and moded.</summary>
    public static string Stage(string path, ReadOnlySpan<byte> contents, UnixFileMode mode, int owner)
    {
        var temporary = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                stream.Write(contents);
            }

            Ownership.Set(temporary, owner, owner);
            File.SetUnixFileMode(temporary, mode);
            return temporary;
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
