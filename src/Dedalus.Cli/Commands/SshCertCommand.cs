using System.CommandLine;
using System.Text;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>dedalus ssh-cert &lt;host&gt;</c>: run by the <c>Match exec</c> line of the config that
/// <c>dedalus ssh-config</c> writes. Creates a session for the user's cached key (waking the machine), waits until it
/// is ready, and writes the certificate, the machine's own known_hosts file (its host CA line, nothing else) and a
/// <c>Host</c> block for the machine into the cache.
/// Silent on success, so ssh's output stays clean.
/// </summary>
internal static class SshCertCommand
{
    public static Command Create(GlobalOptions global)
    {
        var host = new Argument<string>("host") { Description = "The host name given to ssh (a machine id: the uuid, or dm-<uuid>)" };
        var command = new Command("ssh-cert", "Mint a certificate for `ssh dm-...` (run by the generated ssh config's Match exec)")
        {
            host,
        };
        command.Hidden = true;
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            if (!MachineIdInput.TryParse(parseResult.GetValue(host), out var machineId))
            {
                throw new CliException($"'{parseResult.GetValue(host)}' is not a machine id (the uuid, or dm-<uuid>)", ExitCodes.Usage);
            }

            var cache = SshCache.Default();
            cache.EnsureDirectories();
            var publicKey = EnsureKey(cache);
            using var client = global.CreateClient(parseResult);
            var session = await client.Machines.Ssh.CreateAsync(machineId, publicKey, ct);
            session = await client.Machines.Ssh.WaitUntilReadyAsync(session, TimeSpan.FromMinutes(2), null, ct);
            var connection = session.Connection!;
            var trust = connection.HostTrust!;
            var hostName = parseResult.GetValue(host)!.Trim();

            SshCache.WriteAtomically(cache.CertificatePath(hostName), connection.UserCertificate!.Trim() + "\n");
            SshCache.WriteAtomically(cache.KnownHostsPath(hostName), $"@cert-authority {trust.HostPattern.Trim()} {trust.PublicKey.Trim()}\n");
            File.Delete(cache.LegacyKnownHostsPath);
            var block = new StringBuilder()
                .Append("# written by `dedalus ssh-cert` for session ").Append(session.SessionId).Append('\n')
                .Append("Host ").Append(hostName).Append('\n')
                .Append("    HostName ").Append(connection.Endpoint.Trim()).Append('\n')
                .Append("    Port ").Append(connection.Port).Append('\n')
                .Append("    User ").Append(connection.SshUsername.Trim()).Append('\n')
                .Append("    IdentityFile ").Append(SshCache.ConfigWord(cache.KeyPath)).Append('\n')
                .Append("    CertificateFile ").Append(SshCache.ConfigWord(cache.CertificatePath(hostName))).Append('\n')
                .Append("    IdentitiesOnly yes\n")
                .Append("    UserKnownHostsFile ").Append(SshCache.ConfigWord(cache.KnownHostsPath(hostName))).Append('\n')
                // OpenSSH for Windows (and Git for Windows' ssh) read /dev/null as NUL: the same line works everywhere.
                .Append("    GlobalKnownHostsFile /dev/null\n")
                .Append("    StrictHostKeyChecking yes\n")
                .Append("    CheckHostIP no\n")
                .Append("    UpdateHostKeys no\n");
            SshCache.WriteAtomically(cache.HostConfigPath(hostName), block.ToString());
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string EnsureKey(SshCache cache)
    {
        if (File.Exists(cache.KeyPath) && File.Exists(cache.PublicKeyPath))
        {
            return File.ReadAllText(cache.PublicKeyPath).Trim();
        }

        var keyPair = Processes.KeyGenerator.GenerateEd25519("dedalus-ssh-config");
        SshCache.WriteAtomically(cache.PublicKeyPath, keyPair.PublicKey + "\n");
        SshCache.WriteAtomically(cache.KeyPath, keyPair.PrivateKey.EndsWith('\n') ? keyPair.PrivateKey : keyPair.PrivateKey + "\n");
        return keyPair.PublicKey;
    }
}
