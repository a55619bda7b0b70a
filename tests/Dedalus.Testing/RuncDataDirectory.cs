namespace Dedalus.Testing;

/// <summary>
/// A temporary directory that holds a runc runtime's data in a test. It is 0711: runc init runs as the machines'
/// mapped root and must traverse it to the bundles. <see cref="RemoveAsync"/> removes it with whatever a failed test
/// left behind: containers, then mounts, then files.
/// </summary>
public sealed class RuncDataDirectory
{
    public RuncDataDirectory(string prefix)
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>
    /// Force-deletes the containers under <paramref name="runcRoot"/>, unmounts everything below the directory and
    /// deletes it; an <see cref="IOException"/> names the mounts that stay (the files stay with them).
    /// </summary>
    public async Task RemoveAsync(string runcRoot)
    {
        var list = await ProcessRunner.RunAsync("runc", ["--root", runcRoot, "list", "-q"]);
        foreach (var id in list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            await ProcessRunner.RunAsync("runc", ["--root", runcRoot, "delete", "--force", id]);
        }

        foreach (var mount in Mounts.Under(Path))
        {
            await ProcessRunner.RunAsync("umount", ["-l", mount]);
        }

        var left = Mounts.Under(Path);
        if (left.Count > 0)
        {
            throw new IOException($"{Path} still has mounts: {string.Join(", ", left)}");
        }

        Directory.Delete(Path, recursive: true);
    }
}
