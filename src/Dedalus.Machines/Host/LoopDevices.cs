namespace Dedalus.Machines.Host;

/// <summary>The kernel's loop devices, read from <c>/sys/block/loop*/loop/backing_file</c> (no process spawned).</summary>
internal static class LoopDevices
{
    /// <summary>Loop devices whose backing file is <paramref name="image"/>.</summary>
    public static IReadOnlyList<string> Backing(string image)
    {
        var found = new List<string>();
        if (!Directory.Exists("/sys/block"))
        {
            return found;
        }

        foreach (var device in Directory.EnumerateDirectories("/sys/block", "loop*"))
        {
            try
            {
                var backing = File.ReadAllText(Path.Combine(device, "loop", "backing_file")).TrimEnd('\n');
                if (backing == image || backing == image + " (deleted)")
                {
                    found.Add("/dev/" + Path.GetFileName(device));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // No backing file (an unused device) or gone meanwhile.
            }
        }

        return found;
    }

    /// <summary>
    /// Waits until no loop device backs <paramref name="image"/> (at most <paramref name="timeout"/>); true when none
    /// does. An unmounted file system whose last mount was in a namespace still being torn down keeps its loop device
    /// (autoclear) until the kernel lets it go.
    /// </summary>
    public static async Task<bool> WaitUntilReleasedAsync(string image, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Backing(image).Count > 0)
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            await Task.Delay(25, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }
}
