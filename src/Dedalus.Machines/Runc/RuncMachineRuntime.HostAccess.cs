using System.Globalization;
using Dedalus.Machines.Host;

namespace Dedalus.Machines.Runc;

public sealed partial class RuncMachineRuntime
{
    /// <summary>
    /// The first directory on the way to <paramref name="path"/> that the machines' mapped root
    /// (<see cref="RuncRuntimeOptions.SharedUidBase"/>) may not pass through, or null when it reaches the path (or the
    /// nearest part of it that exists) — runc bind-mounts each machine's files from below the data directory as that
    /// user. The check runs <c>test -x</c> as that uid (<c>setpriv</c>), so modes, owners and ACLs all count; it
    /// creates nothing.
    /// </summary>
    public static async Task<string?> FindBlockingDirectoryAsync(RuncRuntimeOptions options, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var target = Path.GetFullPath(path);
        while (!Directory.Exists(target) && Path.GetDirectoryName(target) is { } parent)
        {
            target = parent;
        }

        if (await CanTraverseAsync(options, target, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        // Walk down from the root to name the directory that blocks.
        var current = Path.GetPathRoot(target)!;
        foreach (var part in target[current.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            if (!await CanTraverseAsync(options, current, cancellationToken).ConfigureAwait(false))
            {
                return current;
            }
        }

        return target;
    }

    private static async Task<bool> CanTraverseAsync(RuncRuntimeOptions options, string directory, CancellationToken cancellationToken)
    {
        var id = options.SharedUidBase.ToString(CultureInfo.InvariantCulture);
        var result = await HostCommand.RunAsync(
            "setpriv", [$"--reuid={id}", $"--regid={id}", "--clear-groups", "--", "test", "-x", directory], options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        return result.Succeeded;
    }
}
