using System.Net;
using System.Net.Sockets;

namespace Dedalus.Testing;

/// <summary>
/// Finds a free loopback TCP port below the kernel's ephemeral range, where no client socket of this host (an ssh, an
/// HTTP client, a connection another test assembly makes meanwhile) is ever given a port: a test that frees a port and
/// takes it again later (a server restarting on its gateway port) cannot find it taken by such a socket. Falls back to a
/// kernel-chosen port when no free one turns up below the range. A port is handed out once per process: a port is only
/// free until its test binds it, so two test classes running side by side could otherwise both be given it (one then
/// finds its port held when it lets go of it and takes it again).
/// </summary>
public static class FreePort
{
    private const int Lowest = 10000;
    private static readonly HashSet<int> HandedOut = [];

    public static int Next()
    {
        var highest = EphemeralRangeStart() - 1;
        for (var attempt = 0; highest > Lowest && attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(Lowest, highest + 1);
            if (IsFree(port) && Claim(port, 1))
            {
                return port;
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The first port the kernel hands to client sockets (ip_local_port_range), 32768 when unreadable.</summary>
    private static int EphemeralRangeStart()
    {
        try
        {
            var first = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0];
            return int.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768;
        }
    }

    /// <summary>The first of <paramref name="count"/> consecutive loopback ports that are all free now (a gateway port range).</summary>
    public static int Range(int count)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var first = Next();
            if (first + count - 1 <= IPEndPoint.MaxPort && Enumerable.Range(first + 1, count - 1).All(IsFree) && Claim(first + 1, count - 1))
            {
                return first;
            }
        }

        throw new InvalidOperationException($"found no {count} consecutive free loopback ports in 100 tries");
    }

    /// <summary>Marks <paramref name="count"/> ports from <paramref name="first"/> as handed out, unless one already was.</summary>
    private static bool Claim(int first, int count)
    {
        lock (HandedOut)
        {
            if (Enumerable.Range(first, count).Any(HandedOut.Contains))
            {
                return false;
            }

            HandedOut.UnionWith(Enumerable.Range(first, count));
            return true;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
