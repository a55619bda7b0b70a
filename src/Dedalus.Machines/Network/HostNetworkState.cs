using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Network;

/// <summary>
/// What all Dedalus instances on one host share: IP forwarding (<c>net.ipv4.ip_forward</c>) and a lock around the
/// decisions about it. Host-wide, in <c>/run</c> (a tmpfs: it goes at reboot, as the kernel setting does), not in one
/// instance's data directory: two instances (two servers, or tests running side by side) must agree on who turned
/// forwarding on and when it may go off again.
/// </summary>
/// <remarks>
/// Forwarding is turned on only when it was off, and then <c>/run/dedalus-network/ip_forward.enabled</c> records that
/// Dedalus did it. While that record exists every instance's table drops whatever is forwarded between two interfaces
/// that are not machine veths, so nothing else on the host starts being routed. An instance that shuts down turns it
/// off again (and removes the record) when the record exists and no other Dedalus table (<c>inet dedalus_*</c>) is
/// left, under the lock, so that an instance starting at the same time cannot lose it.
/// </remarks>
internal static class HostNetworkState
{
    public const string Directory = "/run/dedalus-network";

    private const string ForwardingSetting = "/proc/sys/net/ipv4/ip_forward";

    public static string ForwardingRecord => Path.Combine(Directory, "ip_forward.enabled");

    /// <summary>Whether Dedalus turned forwarding on (and so scopes it to machines).</summary>
    public static bool ForwardingTurnedOnByUs => File.Exists(ForwardingRecord);

    /// <summary>Holds the host-wide lock (an exclusive flock) until disposed; waits for it up to 30 s.</summary>
    public static async Task<IDisposable> LockAsync(CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, "lock");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                // FileShare.None is an exclusive flock on Unix: released when the file is closed or the process dies.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new MachineRuntimeException($"the host network lock {path} stayed held for 30 s", e);
            }
        }
    }

    /// <summary>Turns forwarding on when it is off and records that; true when it did. Call under the lock.</summary>
    public static bool EnsureForwarding()
    {
        if (File.ReadAllText(ForwardingSetting).Trim() != "0")
        {
            return false;
        }

        File.WriteAllText(ForwardingRecord, "Dedalus turned net.ipv4.ip_forward on; it turns it off when no Dedalus table is left\n");
        File.WriteAllText(ForwardingSetting, "1");
        return true;
    }

    /// <summary>Turns forwarding off when Dedalus turned it on and no other instance's table is left; true when it did. Call under the lock.</summary>
    public static bool RestoreForwarding(IReadOnlyList<string> remainingDedalusTables)
    {
        if (!ForwardingTurnedOnByUs || remainingDedalusTables.Count > 0)
        {
            return false;
        }

        File.WriteAllText(ForwardingSetting, "0");
        File.Delete(ForwardingRecord);
        return true;
    }
}
