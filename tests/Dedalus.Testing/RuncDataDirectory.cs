namespace Dedalus.Testing;

/// <summary>
/// A temporary directory that holds a runc runtime's data in a test. It is 0711: runc init runs as the machines'
/// mapped root and must traverse it to the bundles. <see cref="RemoveAsync"/> removes the machines and whatever a
/// failed test left behind: containers, then mounts, then files.
/// </summary>
public sealed class RuncDataDirectory
{
    private readonly List<string> _machines = [];
    private readonly Lock _lock = new();

    public RuncDataDirectory(string prefix)
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Remembers a machine the test creates, so that <see cref="RemoveAsync"/> deletes it even when the runtime no longer lists it.</summary>
    public void Track(string machineId)
    {
        lock (_lock)
        {
            _machines.Add(machineId);
        }
    }

    /// <summary>
    /// Removes everything a runc test made, even after a failed test: first the tracked machines and
    /// <paramref name="listedMachines"/> through <paramref name="deleteMachine"/> (the runtime's own delete), then the
    /// containers left under <paramref name="runcRoot"/>, the mounts below the directory, and its files. Every step
    /// runs; what failed is thrown at the end, together (a mount that stays keeps the files with it).
    /// </summary>
    public async Task RemoveAsync(string runcRoot, IEnumerable<string> listedMachines, Func<string, Task> deleteMachine)
    {
        string[] tracked;
        lock (_lock)
        {
            tracked = [.. _machines];
        }

        var errors = new List<Exception>();
        foreach (var id in tracked.Concat(listedMachines).Distinct(StringComparer.Ordinal))
        {
            try
            {
                await deleteMachine(id);
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }

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
        if (left.Count == 0)
        {
            Directory.Delete(Path, recursive: true);
        }
        else
        {
            errors.Add(new IOException($"{Path} still has mounts: {string.Join(", ", left)}"));
        }

        if (errors.Count > 0)
        {
            // A class fixture's clean-up failure reaches the test log as its exception type only: say what failed.
            foreach (var error in errors)
            {
                await Console.Error.WriteLineAsync($"removing the runc test data in {Path}: {error}");
            }

            throw new AggregateException($"removing the runc test data in {Path} failed: {string.Join("; ", errors.Select(e => e.Message))}", errors);
        }
    }
}
