using System.Collections.ObjectModel;
using System.Text;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// How sshd runs inside a machine: never listening, started per connection in inetd mode by the gateway through
/// <see cref="InetdSshServerConnector"/>, bytes piped through stdin and stdout,
/// log lines (<c>LogLevel VERBOSE</c>: "Accepted publickey ... ID &lt;key id&gt; (serial N)") on stderr.
/// Its configuration is a read-only bind mount of a host directory owned by the machine's root.
/// </summary>
public static class MachineSshd
{
    /// <summary>The one user that may log in.</summary>
    public const string UserName = "machine";

    /// <summary>Its home: the machine's persistent storage.</summary>
    public const string HomeDirectory = "/home/machine";

    /// <summary>Per-machine sshd configuration, host key, host certificate and principals (read-only inside).</summary>
    public const string ConfigDirectory = "/etc/ssh/dedalus";

    /// <summary>Host-wide user CA keys and KRL (read-only inside; updates show in running machines).</summary>
    public const string TrustDirectory = "/etc/ssh/dedalus-trust";

    /// <summary>The sshd configuration file inside the machine.</summary>
    public const string ConfigPath = ConfigDirectory + "/" + ConfigFileName;

    /// <summary>File names in <see cref="ConfigDirectory"/>.</summary>
    public const string ConfigFileName = "sshd_config";

    /// <summary>The machine's host private key file name.</summary>
    public const string HostKeyFileName = "ssh_host_key";

    /// <summary>The machine's host certificate file name.</summary>
    public const string HostCertificateFileName = "ssh_host_key-cert.pub";

    /// <summary>The principals file: the machine id, nothing else.</summary>
    public const string PrincipalsFileName = "authorized_principals";

    /// <summary>User CA public keys in <see cref="TrustDirectory"/>.</summary>
    public const string UserCaKeysFileName = "user_ca_keys.pub";

    /// <summary>The KRL in <see cref="TrustDirectory"/>.</summary>
    public const string RevokedKeysFileName = "revoked_keys.krl";

    /// <summary>argv of sshd in inetd mode, logging to stderr.</summary>
    public static IReadOnlyList<string> InetdArguments { get; } =
        new ReadOnlyCollection<string>(["/usr/sbin/sshd", "-i", "-e", "-f", ConfigPath]);

    /// <summary>The sshd_config every machine uses.</summary>
    public static string RenderConfig()
    {
        var builder = new StringBuilder();
        builder.Append("# Written by Dedalus; read-only inside the machine.\n");
        builder.Append($"HostKey {ConfigDirectory}/{HostKeyFileName}\n");
        builder.Append($"HostCertificate {ConfigDirectory}/{HostCertificateFileName}\n");
        builder.Append($"TrustedUserCAKeys {TrustDirectory}/{UserCaKeysFileName}\n");
        builder.Append($"RevokedKeys {TrustDirectory}/{RevokedKeysFileName}\n");
        builder.Append($"AuthorizedPrincipalsFile {ConfigDirectory}/{PrincipalsFileName}\n");
        builder.Append("AuthorizedKeysFile none\n");
        builder.Append("PubkeyAuthentication yes\n");
        builder.Append("PasswordAuthentication no\n");
        builder.Append("KbdInteractiveAuthentication no\n");
        builder.Append("HostbasedAuthentication no\n");
        builder.Append("PermitRootLogin no\n");
        builder.Append($"AllowUsers {UserName}\n");
        builder.Append("UsePAM no\n");
        builder.Append("StrictModes yes\n");
        builder.Append("AllowTcpForwarding yes\n");
        builder.Append("AllowAgentForwarding yes\n");
        builder.Append("X11Forwarding no\n");
        builder.Append("PrintMotd no\n");
        builder.Append("LogLevel VERBOSE\n");

        // The gateway starts this sshd as soon as a client connects, before any authentication, and has no timer of its
        // own: a client that sends nothing holds a runc exec on the host, an sshd inside and one of the machine's
        // connection slots until the grace time ends (OpenSSH's default is 120 s). Certificate logins take well under
        // a second; 30 s leaves room for a FIDO touch.
        builder.Append("LoginGraceTime 30\n");

        // OpenSSH's defaults today, written down so that a different sshd build or default cannot open them: no
        // environment from the user's files, no tun devices, remote forwards bound to loopback only.
        builder.Append("PermitUserEnvironment no\n");
        builder.Append("PermitTunnel no\n");
        builder.Append("GatewayPorts no\n");
        builder.Append("Subsystem sftp internal-sftp\n");
        return builder.ToString();
    }
}
