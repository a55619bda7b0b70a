using System.Globalization;
using System.Net;
using Dedalus.Machines.Host;
using Dedalus.Machines.Runtime;
using Microsoft.Extensions.Logging;

namespace Dedalus.Machines.Network;

/// <summary>
/// The machines' resolver: one dnsmasq per instance listening on the gateway address only, forwarding to the
/// configured upstreams (else the host's own, from <c>/etc/resolv.conf</c>), no hosts file, no DHCP. dnsmasq
/// daemonizes itself (its own session, parent exits once it listens, or fails with the reason), so it outlives the
/// server process; a later process adopts it through its pid file when its command line is exactly the expected one,
/// and replaces it otherwise.
/// </summary>
internal sealed class DnsForwarder(MachineNetworkOptions options, string stateDirectory, TimeSpan commandTimeout, ILogger logger)
{
    public string PidFile => Path.Combine(stateDirectory, "dnsmasq.pid");

    /// <summary>The upstreams: the configured ones, else the nameservers of the host's <c>/etc/resolv.conf</c>.</summary>
    public IReadOnlyList<IPAddress> Upstreams()
    {
        if (options.DnsUpstreams.Count > 0)
        {
            return options.DnsUpstreams;
        }

        var upstreams = new List<IPAddress>();
        if (File.Exists("/etc/resolv.conf"))
        {
            foreach (var line in File.ReadLines("/etc/resolv.conf"))
            {
                var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length >= 2 && fields[0] == "nameserver" && IPAddress.TryParse(fields[1], out var address))
                {
                    upstreams.Add(address);
                }
            }
        }

        return upstreams;
    }

    public IReadOnlyList<string> Arguments()
    {
        List<string> arguments =
        [
            "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
            $"--listen-address={options.GatewayAddress}", "--except-interface=lo", "--domain-needed", "--bogus-priv",
            "--cache-size=1000", $"--pid-file={PidFile}",
        ];
        arguments.AddRange(Upstreams().Select(u => $"--server={u}"));
        return arguments;
    }

    /// <summary>The pid of this instance's running dnsmasq with the expected command line; 0 when there is none.</summary>
    public int RunningPid() => PidWithCommandLine(exact: true);

    /// <summary>Adopts the running forwarder, or (re)starts it.</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        var pid = RunningPid();
        if (pid > 0)
        {
            return;
        }

        await StopAsync(cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(stateDirectory);
        await HostCommand.RunCheckedAsync("dnsmasq", Arguments(), commandTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        pid = RunningPid();
        if (pid == 0)
        {
            throw new MachineRuntimeException($"dnsmasq for network {options.Instance} started but its pid file {PidFile} names no running dnsmasq");
        }

        NetworkLog.ForwarderStarted(logger, options.Instance, pid, string.Join(' ', Upstreams()));
    }

    /// <summary>Logs the adoption of a forwarder a previous process started; false when none runs.</summary>
    public bool Adopt()
    {
        var pid = RunningPid();
        if (pid > 0)
        {
            NetworkLog.ForwarderAdopted(logger, options.Instance, pid);
        }

        return pid > 0;
    }

    /// <summary>Stops this instance's dnsmasq (any command line, if its pid file names one) and waits until it is gone.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var pid = PidWithCommandLine(exact: false);
        if (pid > 0)
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
                await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException)
            {
                // Gone already.
            }

            NetworkLog.ForwarderStopped(logger, options.Instance, pid);
        }

        if (File.Exists(PidFile))
        {
            File.Delete(PidFile);
        }
    }

    /// <summary>
    /// The pid in the pid file when it is a dnsmasq with this instance's pid file (<paramref name="exact"/>: with
    /// exactly the expected arguments); 0 otherwise (no file, a dead or reused pid).
    /// </summary>
    private int PidWithCommandLine(bool exact)
    {
        if (!File.Exists(PidFile) ||
            !int.TryParse(File.ReadAllText(PidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
        {
            return 0;
        }

        string[] argv;
        try
        {
            argv = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        if (argv.Length == 0 || Path.GetFileName(argv[0]) != "dnsmasq" || !argv.Contains($"--pid-file={PidFile}", StringComparer.Ordinal))
        {
            return 0;
        }

        return !exact || argv.Skip(1).SequenceEqual(Arguments(), StringComparer.Ordinal) ? pid : 0;
    }
}
