using System.Globalization;
using System.Text.Json;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

/// <summary>
/// Which machine holds which range of a <see cref="MachineUidPool"/>, host-wide: one file per range in use, named by the
/// range's first uid and holding the path of the machine's directory, in a root-only directory that every runtime on the
/// host shares (two data directories must never hand out one range twice). Claims are made under an exclusive
/// <c>flock</c> of <c>.lock</c>.
/// <para>
/// A claim holds while its machine directory exists and that machine's record names the range (or names none yet: the
/// machine is being created or moved to it). Anything else (a data directory deleted without deleting its machines, a
/// test's temporary directory) is stale, and the range is handed out again. The claims of a runtime's own machines are
/// written back should the registry have been lost, so its ranges are never handed to another.
/// </para>
/// </summary>
internal sealed class UidRangeRegistry(string directory, MachineUidPool pool)
{
    private static readonly SemaphoreSlim ProcessLock = new(1, 1);

    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// The range of the machine whose directory is <paramref name="machineRoot"/> (which must exist): the one it holds
    /// already, else the lowest free one. <paramref name="ownMachines"/>: the ranges this runtime's records name, with
    /// their machine directories. Throws when the pool is exhausted.
    /// </summary>
    public async Task<int> ClaimAsync(string machineRoot, IReadOnlyCollection<(string Root, int UidBase)> ownMachines, CancellationToken cancellationToken)
    {
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var claims = ReadClaims();
        foreach (var (root, uidBase) in ownMachines)
        {
            if (pool.Holds(uidBase) && !claims.ContainsKey(uidBase))
            {
                Write(uidBase, root);
                claims[uidBase] = root;
            }
        }

        foreach (var (uidBase, root) in claims)
        {
            if (root == machineRoot)
            {
                return uidBase;
            }
        }

        for (var slot = 0; slot < pool.Slots; slot++)
        {
            var uidBase = pool.BaseOf(slot);
            if (claims.TryGetValue(uidBase, out var holder) && Holds(holder, uidBase))
            {
                continue;
            }

            Write(uidBase, machineRoot);
            return uidBase;
        }

        throw new MachineRuntimeException(
            $"every uid range of {pool} ({pool.Slots} machines) is in use on this host (see {directory}); widen the pool or delete machines");
    }

    /// <summary>Gives up the range of <paramref name="machineRoot"/>, if it still holds it.</summary>
    public async Task ReleaseAsync(string machineRoot, int uidBase, CancellationToken cancellationToken)
    {
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var path = PathOf(uidBase);
        if (File.Exists(path) && File.ReadAllText(path).Trim() == machineRoot)
        {
            File.Delete(path);
        }
    }

    /// <summary>Whether the machine at <paramref name="machineRoot"/> still holds <paramref name="uidBase"/>.</summary>
    private static bool Holds(string machineRoot, int uidBase)
    {
        if (!Directory.Exists(machineRoot))
        {
            return false;
        }

        var record = Path.Combine(machineRoot, "machine.json");
        try
        {
            var manifest = JsonSerializer.Deserialize(File.ReadAllBytes(record), RuncJsonContext.Default.MachineManifest);
            return manifest?.UidBase is null || manifest.UidBase == uidBase;
        }
        catch (FileNotFoundException)
        {
            return true;
        }
        catch (JsonException)
        {
            // A record nobody can read: keep the range rather than risk sharing it.
            return true;
        }
    }

    private Dictionary<int, string> ReadClaims()
    {
        var claims = new Dictionary<int, string>();
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            if (int.TryParse(Path.GetFileName(file), NumberStyles.None, CultureInfo.InvariantCulture, out var uidBase))
            {
                claims[uidBase] = File.ReadAllText(file).Trim();
            }
        }

        return claims;
    }

    private void Write(int uidBase, string machineRoot)
    {
        var path = PathOf(uidBase);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, machineRoot + "\n");
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, path, overwrite: true);
    }

    private string PathOf(int uidBase) => Path.Combine(directory, uidBase.ToString(CultureInfo.InvariantCulture));

    /// <summary>The host-wide lock: a thread of this process first, then an exclusive flock against other processes.</summary>
    private async Task<IDisposable> LockAsync(CancellationToken cancellationToken)
    {
        await ProcessLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(directory);
            File.SetUnixFileMode(directory, Mode0700);
            var path = Path.Combine(directory, ".lock");
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    // FileShare.None is an exclusive, non-blocking flock on Unix.
                    var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                    return new Held(stream);
                }
                catch (IOException) when (attempt < 1500)
                {
                    await Task.Delay(20, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            ProcessLock.Release();
            throw;
        }
    }

    private sealed class Held(FileStream stream) : IDisposable
    {
        public void Dispose()
        {
            stream.Dispose();
            ProcessLock.Release();
        }
    }
}
