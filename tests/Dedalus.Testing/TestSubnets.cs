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

    /// <summary>
    /// The subnet of <paramref name="dataDirectory"/> (the same one for every start of a server on it), as CIDR text.
    /// Whatever a test machine on such a subnet sends off this host goes nowhere: a routing rule gives every source in
    /// 10.240.0.0/12 an unreachable default route (traffic among those addresses and to the host's own stays as it is).
    /// </summary>
    public static string For(string dataDirectory)
    {
        var key = Path.GetFullPath(dataDirectory);
        lock (Gate)
        {
            Directory.CreateDirectory(ClaimDirectory);
            KeepOnHost();
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

    /// <summary>The routing rules that keep test machines' traffic on this host (idempotent; ip(8) run synchronously).</summary>
    private static void KeepOnHost()
    {
        const string Range = "10.240.0.0/12";
        Ip("route", "replace", "unreachable", "default", "table", "2089");
        EnsureRule("from 10.240.0.0/12 to 10.240.0.0/12 lookup main", "rule", "add", "from", Range, "to", Range, "priority", "2088", "table", "main");
        EnsureRule("from 10.240.0.0/12 lookup 2089", "rule", "add", "from", Range, "priority", "2089", "table", "2089");
    }

    /// <summary>Adds a rule unless <c>ip rule show</c> has it; another test process adding it meanwhile is fine.</summary>
    private static void EnsureRule(string shown, params string[] add)
    {
        if (Ip("rule", "show").Contains(shown, StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            Ip(add);
        }
        catch (InvalidOperationException) when (Ip("rule", "show").Contains(shown, StringComparison.Ordinal))
        {
        }
    }

    private static string Ip(params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("ip did not start");
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"ip {string.Join(' ', arguments)}: {error.Trim()}");
    }

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
