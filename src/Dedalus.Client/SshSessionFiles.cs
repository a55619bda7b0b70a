using System.Text;
using Dedalus.Client.Platform;
using Dedalus.Client.Ssh;
using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// The files OpenSSH needs for one ready session, in a private (0700) temporary directory: the private key,
/// its certificate, and a known_hosts file holding only the session's <c>@cert-authority</c> line (all 0600).
/// On Windows "private" is an ACL granting the current user alone access, as OpenSSH for Windows requires.
/// Disposing deletes the directory.
/// </summary>
public sealed class SshSessionFiles : IDisposable
{
    private SshSessionFiles(string directory, SshConnection connection)
    {
        Directory = directory;
        PrivateKeyPath = Path.Combine(directory, "key");
        CertificatePath = Path.Combine(directory, "key-cert.pub");
        KnownHostsPath = Path.Combine(directory, "known_hosts");
        Endpoint = connection.Endpoint.Trim();
        Port = (int)connection.Port;
        User = connection.SshUsername.Trim();
    }

    /// <summary>The private temporary directory.</summary>
    public string Directory { get; }

    /// <summary>Path of the private key file.</summary>
    public string PrivateKeyPath { get; }

    /// <summary>Path of the certificate file (<c>key-cert.pub</c>).</summary>
    public string CertificatePath { get; }

    /// <summary>Path of the known_hosts file with the <c>@cert-authority</c> line.</summary>
    public string KnownHostsPath { get; }

    /// <summary>Gateway host to connect to.</summary>
    public string Endpoint { get; }

    /// <summary>Gateway port of the machine.</summary>
    public int Port { get; }

    /// <summary>User name to log in as.</summary>
    public string User { get; }

    /// <summary>Validates a ready session and writes its files.</summary>
    /// <param name="session">A <c>ready</c> session (see <see cref="SshSessionsResource.WaitUntilReadyAsync"/>).</param>
    /// <param name="keyPair">The key pair whose public half the session certifies.</param>
    /// <param name="parentDirectory">Where to create the directory; the system temp directory when <see langword="null"/>.</param>
    /// <returns>The files; dispose to delete them.</returns>
    /// <exception cref="DedalusSshSessionException">The session is not ready or has unusable fields.</exception>
    public static SshSessionFiles Create(SshSession session, SshKeyPair keyPair, string? parentDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(keyPair);
        if (session.Status != SshSessionStatuses.Ready)
        {
            throw new DedalusSshSessionException($"ssh session {session.SessionId} is {session.Status}, not ready; wait for it first", session);
        }

        SshSessionValidator.ThrowIfNotUsable(session);
        var connection = session.Connection!;
        var trust = connection.HostTrust!;
        var directory = PrivateFiles.CreateTemporaryDirectory("dedalus-ssh-", parentDirectory);
        var files = new SshSessionFiles(directory, connection);
        try
        {
            PrivateFiles.WriteNew(files.PrivateKeyPath, keyPair.PrivateKey.EndsWith('\n') ? keyPair.PrivateKey : keyPair.PrivateKey + "\n");
            PrivateFiles.WriteNew(files.CertificatePath, connection.UserCertificate!.Trim() + "\n");
            PrivateFiles.WriteNew(files.KnownHostsPath, $"@cert-authority {trust.HostPattern.Trim()} {trust.PublicKey.Trim()}\n");
            return files;
        }
        catch
        {
            files.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The <c>ssh</c> arguments (without the program name): <c>-i key -o CertificateFile=... -o UserKnownHostsFile=...
    /// -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -p port [options] -- user@endpoint [command]</c>.
    /// </summary>
    /// <remarks>
    /// The same arguments work with OpenSSH for Windows (<c>ssh.exe</c>): paths are quoted with OpenSSH's config-line
    /// rules, so spaces and backslashes survive, and it reads <c>/dev/null</c> as <c>NUL</c> (so does Git for Windows' ssh).
    /// </remarks>
    /// <param name="extraOptions">More OpenSSH options placed before <c>--</c> (<c>-L</c>, <c>-t</c>, <c>-o Name=value</c>, ...).</param>
    /// <param name="remoteCommand">The remote command and its arguments, if any.</param>
    /// <returns>The argument list.</returns>
    public IReadOnlyList<string> GetSshArguments(IEnumerable<string>? extraOptions = null, IEnumerable<string>? remoteCommand = null)
    {
        var arguments = new List<string>
        {
            "-i", PrivateKeyPath,
            "-o", "CertificateFile=" + Quote(CertificatePath),
            "-o", "UserKnownHostsFile=" + Quote(KnownHostsPath),
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes",
            "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (extraOptions is not null)
        {
            arguments.AddRange(extraOptions);
        }

        arguments.Add("--");
        arguments.Add(User + "@" + Endpoint);
        if (remoteCommand is not null)
        {
            arguments.AddRange(remoteCommand);
        }

        return arguments;
    }

    /// <summary>Deletes the directory and its files.</summary>
    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>
    /// Quotes a path for an <c>-o Name=value</c> option or an ssh_config line, which OpenSSH splits like a command line:
    /// inside double quotes, <c>\"</c> and <c>\\</c> are escapes. Every backslash is doubled, so a Windows path
    /// (<c>C:\Users\Jane Doe\...</c>) reaches OpenSSH as written.
    /// </summary>
    internal static string Quote(string path)
    {
        var builder = new StringBuilder(path.Length + 2).Append('"');
        foreach (var c in path)
        {
            if (c is '"' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.Append('"').ToString();
    }
}
