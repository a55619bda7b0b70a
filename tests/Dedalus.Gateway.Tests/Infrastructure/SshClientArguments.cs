using System.Globalization;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>argv of the OpenSSH clients (ssh, scp, sftp) against an <see cref="ISshClientSite"/>.</summary>
public static class SshClientArguments
{
    /// <summary>Options for ssh, scp and sftp: no config, strict host checking against the site's host CA only, the identity's key and certificate.</summary>
    public static IReadOnlyList<string> ClientOptions(this ISshClientSite site, UserIdentity identity) =>
    [
        "-F", "/dev/null",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", $"UserKnownHostsFile={site.KnownHostsFile}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "CheckHostIP=no",
        "-o", "IdentitiesOnly=yes",
        "-o", "ConnectTimeout=30",
        "-i", identity.PrivateKey,
        "-o", $"CertificateFile={identity.Certificate}",
    ];

    /// <summary>argv of <c>ssh</c> running <paramref name="command"/> as the site's login user behind <paramref name="port"/>.</summary>
    public static IReadOnlyList<string> SshArguments(this ISshClientSite site, UserIdentity identity, int port, params string[] command) =>
        [.. site.ClientOptions(identity), "-p", port.ToString(CultureInfo.InvariantCulture), $"{site.LoginUser}@127.0.0.1", .. command];
}
