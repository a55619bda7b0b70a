using System.Globalization;

namespace Dedalus.Testing;

/// <summary>
/// A machine subnet (/24) per test server data directory, unique on this host while its test process lives: servers
/// of concurrent test processes must not share one (their routes and addresses would collide). Claims are files in
/// <c>/run/dedalus-test-subnets</c> (the pid and data directory inside, created exclusively); a claim of a dead process
/// is free again. Server fixtures use 10.240.0.0-10.254.255.0 (the runtime's own tests use lower ranges).
/// </summary>
public static class TestSubnets
{
    private const string ClaimDirectory = "/run/dedalus-test-subnets";
    private const int FirstSecondOctet = 240;
    private const int Count = 15 * 256;
    private static readonly Lock Gate = new();

    /// <summary>The DNS upstream test servers get: loopback, where nothing answers, so no lookup ever leaves this host.</summary>
    public const string DnsUpstream = "127.0.0.1";

    /// <summary>The subnet of <paramref name="dataDirectory"/> (the same one for every start of a server on it), as CIDR text.</summary>
    public static string For(string dataDirectory)
    {
        var key = Path.GetFullPath(dataDirectory);
        lock (Gate)
        {
            Directory.CreateDirectory(ClaimDirectory);
            var start = (int)((uint)key.GetHashCode(StringComparison.Ordinal) % Count);
            for (var step = 0; step < Count; step++)
            {
                var index = (start + step) % Count;
                var claim = Path.Combine(ClaimDirectory, index.ToString(CultureInfo.InvariantCulture));
                if (TryRead(claim) is { } held)
                {
                    if (held.DataDirectory == key && held.Pid == Environment.ProcessId)
                    {
                        return Subnet(index);
                    }

                    if (ProcessAlive(held.Pid))
                    {
                        continue;
                    }

                    File.Delete(claim);
                }

                try
                {
                    using var file = new FileStream(claim, FileMode.CreateNew, FileAccess.Write);
                    using var writer = new StreamWriter(file);
                    writer.Write($"{Environment.ProcessId}\n{key}\n");
                    return Subnet(index);
                }
                catch (IOException)
                {
                    // Another process claimed it between the read and the create: try the next one.
                }
            }
        }

        throw new InvalidOperationException("no free test machine subnet in 10.240.0.0-10.254.255.0");
    }

    /// <summary>The server options that put a test server on its own subnet and keep DNS on this host.</summary>
    public static string[] ServerArguments(string dataDirectory) =>
        ["--machine-network", For(dataDirectory), "--dns-upstream", DnsUpstream];

    private static string Subnet(int index) =>
        string.Create(CultureInfo.InvariantCulture, $"10.{FirstSecondOctet + index / 256}.{index % 256}.0/24");

    private static (int Pid, string DataDirectory)? TryRead(string claim)
    {
        try
        {
            var lines = File.ReadAllLines(claim);
            // A claim being written (not both lines yet) counts as held by a live process (pid 1 always is).
            return lines.Length >= 2 && int.TryParse(lines[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? (pid, lines[1]) : (1, string.Empty);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (IOException)
        {
            return (1, string.Empty);
        }
    }

    private static bool ProcessAlive(int pid) => pid > 0 && Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");
}
