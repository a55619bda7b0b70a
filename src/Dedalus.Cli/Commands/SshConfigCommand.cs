using System.CommandLine;
using System.Text;
using Dedalus.Cli.Processes;
using Dedalus.Client.Platform;

namespace Dedalus.Cli.Commands;

/// <summary><c>dedalus ssh-config [--install]</c>: OpenSSH configuration so that plain <c>ssh dm-...</c> works.</summary>
internal static class SshConfigCommand
{
    private const string Design = """
        How it works. OpenSSH evaluates `Match exec` while it reads its configuration, before it
        resolves, connects or loads any key, and reads an `Include` that follows it only afterwards.
        The generated block is:

          Match originalhost dm-*,????????-????-????-????-???????????? exec "dedalus ssh-cert %n"
              Include <cache>/hosts/*.conf

        `dedalus ssh-cert <machine_id>` creates an SSH session for a key kept in the cache (waking the
        machine if it sleeps), waits until it is ready, and writes a fresh certificate, the session's
        `@cert-authority` line into that machine's own known_hosts file, and a `Host dm-<uuid>` block
        (gateway HostName/Port/User, IdentityFile, CertificateFile, UserKnownHostsFile,
        StrictHostKeyChecking yes, IdentitiesOnly yes) that the Include then reads. A wake therefore
        happens before ssh starts connecting and never counts against its ConnectTimeout; host keys
        are checked strictly against that machine's own host CA only (one known_hosts file per
        machine: a shared one would let any machine's CA vouch for every other machine, as all
        their lines name the same gateway; your own known_hosts is not touched); every
        connection gets a new short-lived certificate. A ProxyCommand cannot do this: ssh loads
        CertificateFile right after starting the ProxyCommand, without waiting for it.
        The cache is $DEDALUS_SSH_DIR, else $XDG_CACHE_HOME/dedalus/ssh, else ~/.cache/dedalus/ssh
        (%LOCALAPPDATA%\dedalus\ssh on Windows).
        `--install` writes ~/.ssh/dedalus_config and adds `Include dedalus_config` at the top of
        ~/.ssh/config once. ssh-cert reads the server and key like every command (DEDALUS_BASE_URL,
        DEDALUS_API_KEY, or the dev credentials file).
        """;

    public static Command Create()
    {
        var install = new Option<bool>("--install") { Description = "Write ~/.ssh/dedalus_config and include it from ~/.ssh/config" };
        var command = new Command("ssh-config", "Print (or --install) the OpenSSH config that makes plain `ssh <machine_id>`, scp and rsync work")
        {
            install,
        }.WithHelp(Design + """


            Examples:
              dedalus ssh-config --install
              ssh dm-<uuid>
              scp ./file.txt dm-<uuid>:
              rsync -a ./src/ dm-<uuid>:src/
            """);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(_ =>
        {
            var cache = SshCache.Default();
            var text = Render(cache, SelfForMatchExec(Executables.SelfCommand(), Environment.ProcessPath, Executables.Find("dedalus")));
            if (!parseResult.GetValue(install))
            {
                Console.Out.Write(text);
                return Task.FromResult(ExitCodes.Ok);
            }

            Install(text);
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }

    /// <summary>The host names ssh hands to us: <c>dm-&lt;uuid&gt;</c>, and a bare uuid (36 characters, hyphens in place).</summary>
    internal const string HostPatterns = "dm-*,????????-????-????-????-????????????";

    /// <summary>
    /// How the <c>Match exec</c> line names dedalus: <paramref name="selfCommand"/> (its full path, quoted for the shell
    /// OpenSSH runs it with) when that survives the config line, else plain <c>dedalus</c> when the dedalus on PATH is
    /// this one, else an error. The exec command is one double-quoted word, and OpenSSH has read such words two ways:
    /// up to 9.x without escapes (to the next <c>"</c>), later with <c>\\</c>, <c>\"</c> and <c>\'</c> as escapes. Only
    /// a command with no <c>"</c> and none of those pairs reads the same under both: not a Unix path holding <c>'</c>
    /// (quoted as <c>'\''</c>), nor a Windows path holding a space (cmd.exe needs it in double quotes).
    /// </summary>
    internal static string SelfForMatchExec(string selfCommand, string? processPath, string? dedalusOnPath)
    {
        if (!selfCommand.Contains('"', StringComparison.Ordinal) && !selfCommand.Contains("\\\\", StringComparison.Ordinal)
            && !selfCommand.Contains("\\'", StringComparison.Ordinal))
        {
            return selfCommand;
        }

        if (dedalusOnPath is not null && processPath is not null && string.Equals(Path.GetFullPath(dedalusOnPath), Path.GetFullPath(processPath), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
        {
            return "dedalus";
        }

        throw new CliException(
            $"cannot name dedalus in ssh_config: its path ({processPath ?? selfCommand}) holds a quote, a doubled backslash or (on Windows) a space, which OpenSSH's Match exec cannot carry; put this dedalus on PATH (dotnet tool install --global does) or move it, then run dedalus ssh-config again",
            ExitCodes.Error);
    }

    internal static string Render(SshCache cache, string self)
    {
        var hosts = Path.Combine(cache.HostsDirectory, "*.conf");
        return new StringBuilder()
            .Append("# Dedalus Machines: written by `dedalus ssh-config`; see `dedalus ssh-config --help`.\n")
            .Append("# For machine ids as hosts (the bare uuid the API returns, or dm-<uuid>), `dedalus ssh-cert` mints a fresh\n")
            .Append("# certificate (waking the machine) before ssh\n")
            .Append("# connects, then the Include reads the Host block it wrote. Host keys are checked against each machine's own host CA only.\n")
            .Append("Match originalhost ").Append(HostPatterns).Append(" exec \"").Append(self).Append(" ssh-cert %n\"\n")
            .Append("    Include ").Append(SshCache.ConfigWord(hosts)).Append('\n')
            .ToString();
    }

    private static void Install(string text)
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var sshDirectory = Path.Combine(home, ".ssh");
        PrivateFiles.CreateDirectory(sshDirectory);
        var configPath = Path.Combine(sshDirectory, "dedalus_config");
        SshCache.WriteAtomically(configPath, text);
        var userConfig = Path.Combine(sshDirectory, "config");
        var existing = File.Exists(userConfig) ? File.ReadAllText(userConfig) : string.Empty;
        var included = existing.Split('\n').Any(l => l.TrimStart().StartsWith("Include", StringComparison.OrdinalIgnoreCase) && l.Contains("dedalus_config", StringComparison.Ordinal));
        if (!included)
        {
            SshCache.WriteAtomically(userConfig, "Include dedalus_config\n" + (existing.Length > 0 ? "\n" + existing : string.Empty));
        }

        Console.Error.WriteLine(included
            ? $"dedalus: updated {configPath} (already included from {userConfig})"
            : $"dedalus: wrote {configPath} and included it at the top of {userConfig}");
    }
}
