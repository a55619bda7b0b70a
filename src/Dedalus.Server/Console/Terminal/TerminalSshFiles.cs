using System.Globalization;
using System.Text;
using Dedalus.Contracts;

namespace Dedalus.Server.Console.Terminal;

/// <summary>
/// The files one terminal's <c>ssh</c> needs, in a private temporary directory (0700, files 0600): the fresh private
/// key, its session certificate, and a known_hosts holding only the session's <c>@cert-authority</c> line. Disposing
/// deletes the directory.
/// </summary>
/// <remarks>
/// The SDK's <c>SshSessionFiles</c> does the same for the CLI; the server does not reference the SDK (an HTTP client
/// of itself), and the terminal's options differ (no escape character, no forwarding, batch mode), so it has its own.
/// </remarks>
public sealed class TerminalSshFiles : IDisposable
{
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly SshConnection _connection;

    private TerminalSshFiles(string directory, SshConnection connection)
    {
        Directory = directory;
        _connection = connection;
    }

    /// <summary>The private temporary directory.</summary>
    public string Directory { get; }

    private string KeyPath => Path.Combine(Directory, "key");

    private string CertificatePath => Path.Combine(Directory, "key-cert.pub");

    private string KnownHostsPath => Path.Combine(Directory, "known_hosts");

    /// <summary>Writes the files of a ready session's <paramref name="connection"/> and the key it certifies.</summary>
    public static TerminalSshFiles Create(SshConnection connection, string privateKey)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(privateKey);
        var trust = connection.HostTrust ?? throw new ArgumentException("the session has no host trust", nameof(connection));
        var directory = System.IO.Directory.CreateTempSubdirectory("dedalus-terminal-").FullName;
        File.SetUnixFileMode(directory, PrivateDirectory);
        var files = new TerminalSshFiles(directory, connection);
        try
        {
            WritePrivate(files.KeyPath, privateKey.EndsWith('\n') ? privateKey : privateKey + "\n");
            WritePrivate(files.CertificatePath, connection.UserCertificate!.Trim() + "\n");
            WritePrivate(files.KnownHostsPath, $"@cert-authority {trust.HostPattern.Trim()} {trust.PublicKey.Trim()}\n");
            return files;
        }
        catch
        {
            files.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The <c>ssh</c> arguments: no configuration file, strict host checking against the session's host CA only, this
    /// key and certificate only, no prompt, keep-alives, and nothing a browser user could turn against the server: no
    /// escape character (<c>~C</c> would open port forwards on the server), no forwarding, no local command, no
    /// connection sharing.
    /// </summary>
    public IReadOnlyList<string> Arguments(TimeSpan keepAliveInterval, TimeSpan connectTimeout) =>
    [
        "-F", "/dev/null",
        "-i", KeyPath,
        "-o", "CertificateFile=" + Quote(CertificatePath),
        "-o", "UserKnownHostsFile=" + Quote(KnownHostsPath),
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", "BatchMode=yes",
        "-o", "EscapeChar=none",
        "-o", "PermitLocalCommand=no",
        "-o", "ClearAllForwardings=yes",
        "-o", "ForwardAgent=no",
        "-o", "ForwardX11=no",
        "-o", "ControlMaster=no",
        "-o", "ControlPath=none",
        "-o", "UpdateHostKeys=no",
        "-o", "ServerAliveInterval=" + Seconds(keepAliveInterval),
        "-o", "ServerAliveCountMax=3",
        "-o", "ConnectTimeout=" + Seconds(connectTimeout),
        "-p", _connection.Port.ToString(CultureInfo.InvariantCulture),
        "--",
        _connection.SshUsername.Trim() + "@" + _connection.Endpoint.Trim(),
    ];

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

    private static string Seconds(TimeSpan value) => Math.Max(1, (long)value.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    /// <summary>Quotes a path for an <c>-o Name=value</c> option, which OpenSSH splits like a config line.</summary>
    private static string Quote(string path)
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

    private static void WritePrivate(string path, string contents)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = PrivateFile,
        });
        stream.Write(Encoding.UTF8.GetBytes(contents));
    }
}
