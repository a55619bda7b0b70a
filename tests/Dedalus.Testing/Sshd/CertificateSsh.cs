using System.Globalization;

namespace Dedalus.Testing.Sshd;

/// <summary>
/// The arguments of a real <c>ssh</c> that logs in with a session's key and certificate and trusts nothing but the
/// known_hosts file given (the session's host CA line): strict host checking, no agent, no prompts.
/// </summary>
public static class CertificateSsh
{
    public static string[] Arguments(string keyPath, string knownHostsPath, long port, string destination, params string[] command) =>
    [
        "-i", keyPath,
        "-o", $"CertificateFile={keyPath}-cert.pub",
        "-o", $"UserKnownHostsFile={knownHostsPath}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=20",
        "-p", port.ToString(CultureInfo.InvariantCulture),
        destination,
        "--",
        .. command,
    ];
}
