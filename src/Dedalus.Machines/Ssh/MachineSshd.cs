using System.Collections.ObjectModel;
using System.Text;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// How sshd runs for a machine: never listening, started per connection in inetd mode by the gateway through
/// <see cref="InetdSshServerConnector"/>, bytes piped through stdin and stdout, log lines (<c>LogLevel INFO</c>:
/// "Accepted publickey ... ID &lt;key id&gt; (serial N)") on stderr.
/// <para>
/// The sshd that authenticates is not the machine's: it runs in the machine's namespaces, cgroup and confinement, but
/// chrooted into the host-owned, read-only tree at <see cref="HostTreeMountPoint"/> (its binary, libraries, accounts
/// and configuration), started through the tree's static busybox, so nothing root inside a machine writes (its
/// <c>/usr/sbin/sshd</c>, <c>/etc/ld.so.preload</c>, <c>/etc/nsswitch.conf</c>, libraries) is loaded before a
/// certificate is checked. Its programs are execute-only for root inside, which makes them non-dumpable: no ptrace,
/// no <c>/proc/PID/fd</c> from inside, so the log lines the gateway reads come from sshd alone. After authentication
/// the session is chrooted (<c>ChrootDirectory</c>) into the machine's own root, mirrored at
/// <see cref="ChrootDirectory"/> inside the tree: the user's shell, files, <c>/tmp</c> and pseudo-terminals are the
/// machine's.
/// </para>
/// </summary>
public static class MachineSshd
{
    /// <summary>The port the listening sshd takes on the machine's address.</summary>
    public const int ListenPort = 22;

    /// <summary>The one user that may log in.</summary>
    public const string UserName = "machine";

    /// <summary>Its home: the machine's persistent storage.</summary>
    public const string HomeDirectory = "/home/machine";

    /// <summary>Where the host-owned tree is mounted read-only in every machine.</summary>
    public const string HostTreeMountPoint = "/.dedalus";

    /// <summary>The tree's directory of host-owned programs (paths below are inside the tree).</summary>
    public const string ProgramsDirectory = "/dedalus";

    /// <summary>The static busybox that chroots into the tree.</summary>
    public const string BusyboxPath = ProgramsDirectory + "/busybox";

    /// <summary>The sshd that authenticates connections.</summary>
    public const string SshdPath = ProgramsDirectory + "/sshd";

    /// <summary>The machine's init (tini, static).</summary>
    public const string InitPath = ProgramsDirectory + "/tini";

    /// <summary>Inside the tree: the machine's own root, where sessions are chrooted after authentication.</summary>
    public const string ChrootDirectory = "/machine";

    /// <summary>Inside the tree: per-machine sshd configuration, host key, host certificate and principals.</summary>
    public const string ConfigDirectory = "/etc/ssh/dedalus";

    /// <summary>Inside the tree: host-wide user CA keys and KRL (updates show in running machines).</summary>
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

    /// <summary>
    /// argv (in the machine) of sshd in inetd mode, logging to stderr: the tree's static busybox chroots into the tree
    /// and runs the tree's sshd, so no program, library or file of the machine's writable root is involved.
    /// </summary>
    public static IReadOnlyList<string> InetdArguments { get; } =
        new ReadOnlyCollection<string>([HostTreeMountPoint + BusyboxPath, "chroot", HostTreeMountPoint, SshdPath, "-i", "-e", "-f", ConfigPath]);

    /// <summary>
    /// How many unauthenticated connections the listening daemon keeps before it drops new ones. Every connection comes
    /// from the gateway's one address, and the gateway bounds the pending ones itself (its pre-authentication budget),
    /// so sshd's own default (10:30:100) would refuse good clients behind a handful of slow ones.
    /// </summary>
    public const int DaemonMaxStartups = 1000;

    /// <summary>
    /// argv (in the machine) of sshd as a daemon listening on <paramref name="listen"/> (the machine's address, port 22),
    /// logging to stderr (<c>-D -e</c>: every child's lines come through the daemon's one stderr, none prefixed), with
    /// the same chroot into the host tree as <see cref="InetdArguments"/> and the same configuration; options after
    /// <see cref="ConfigPath"/> add what only the daemon needs.
    /// </summary>
    public static IReadOnlyList<string> DaemonArguments(System.Net.IPEndPoint listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        return new ReadOnlyCollection<string>(
        [
            HostTreeMountPoint + BusyboxPath, "chroot", HostTreeMountPoint, SshdPath, "-D", "-e", "-f", ConfigPath,
            "-o", "ListenAddress=" + listen,
            "-o", "MaxStartups=" + DaemonMaxStartups.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-o", "PidFile=none",
        ]);
    }

    /// <summary>The sshd_config every machine uses.</summary>
    public static string RenderConfig()
    {
        var builder = new StringBuilder();
        builder.Append("# Written by Dedalus; read-only inside the machine, in the host tree at " + HostTreeMountPoint + ".\n");
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
        // INFO: the accepted login line (with the certificate's ID, serial and CA) is an INFO message. VERBOSE would add
        // "Connection from ..." as sshd -i's first message, written before the server puts the pipe runc copies from in
        // packet mode: a late copy of it could join the accepted line in one record, which is then not attributable.
        builder.Append("LogLevel INFO\n");

        // The gateway bounds the time to log in itself; this is the same bound, should sshd ever be started otherwise.
        // Certificate logins take well under a second; 30 s leaves room for a FIDO touch.
        builder.Append("LoginGraceTime 30\n");

        // OpenSSH's defaults today, written down so that a different sshd build or default cannot open them: no
        // environment from the user's files, no tun devices, remote forwards bound to loopback only.
        builder.Append("PermitUserEnvironment no\n");
        builder.Append("PermitTunnel no\n");
        builder.Append("GatewayPorts no\n");
        builder.Append("Subsystem sftp internal-sftp\n");

        // After authentication, into the machine's own root (a mirror of it inside the read-only tree).
        builder.Append($"ChrootDirectory {ChrootDirectory}\n");
        return builder.ToString();
    }
}
