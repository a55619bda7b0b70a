using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Security.AccessControl;
using System.Security.Principal;

namespace Dedalus.Client.Platform;

/// <summary>
/// Files and directories only the current user can read: private keys, certificates, known_hosts files, credentials.
/// OpenSSH refuses a private key others can read, on every platform, so "private" is done each platform's way: on
/// Unix (Linux, macOS) the file is created with mode 0600 (directories 0700) in the same call that creates it, so it is
/// never readable by others even for an instant; on Windows it is created with a protected ACL (no inherited entries)
/// granting the current user alone full control, which is what OpenSSH for Windows checks for.
/// </summary>
/// <remarks>Shared with the CLI (InternalsVisibleTo) so both write the same way; not part of the SDK's public surface.</remarks>
internal static class PrivateFiles
{
    private const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode DirectoryMode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Creates a directory (and missing parents) private to the current user. Like <c>mkdir -m 0700</c>, an existing
    /// directory is left as it is (it may be the user's own <c>~/.ssh</c>).
    /// </summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            if (!Directory.Exists(path))
            {
                new DirectoryInfo(path).Create(PrivateDirectorySecurity());
            }

            return;
        }

        Directory.CreateDirectory(path, DirectoryMode0700);
    }

    /// <summary>A new, uniquely named private directory under <paramref name="parentDirectory"/> (the temp directory when null).</summary>
    public static string CreateTemporaryDirectory(string prefix, string? parentDirectory = null)
    {
        if (parentDirectory is not null)
        {
            // Directory.CreateTempSubdirectory takes a name prefix only (no folder): a random name of our own, made private
            // as it is created. 64 random bits: an existing directory of that name is a bug, not a collision to retry.
            var named = Path.Combine(Path.GetFullPath(parentDirectory), prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)));
            if (Directory.Exists(named))
            {
                throw new IOException($"{named} exists already");
            }

            CreateDirectory(named);
            return named;
        }

        var directory = Directory.CreateTempSubdirectory(prefix).FullName;
        if (OperatingSystem.IsWindows())
        {
            // Nothing is in it yet: what is written next inherits this ACL only.
            new DirectoryInfo(directory).SetAccessControl(PrivateDirectorySecurity());
        }
        else
        {
            // CreateTempSubdirectory already makes it 0700 on Unix; set it anyway in case a umask or an ACL default widened it.
            File.SetUnixFileMode(directory, DirectoryMode0700);
        }

        return directory;
    }

    /// <summary>Opens a new file (it must not exist) for writing, private from its creation on.</summary>
    public static FileStream CreateNew(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return new FileInfo(path).Create(
                FileMode.CreateNew, FileSystemRights.Write | FileSystemRights.ReadData, FileShare.None, bufferSize: 4096, FileOptions.None, PrivateFileSecurity());
        }

        return new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            UnixCreateMode = FileMode0600,
        });
    }

    /// <summary>Writes a new private file with <paramref name="contents"/> (UTF-8, no byte order mark).</summary>
    public static void WriteNew(string path, string contents)
    {
        using var stream = CreateNew(path);
        stream.Write(System.Text.Encoding.UTF8.GetBytes(contents));
    }

    /// <summary>
    /// Writes a private file atomically: a private temporary file beside it, then a rename over it, so a concurrent
    /// reader (an ssh started meanwhile) sees the old contents or the new, never half of them.
    /// </summary>
    public static void WriteAtomically(string path, string contents)
    {
        var temporary = path + "." + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            WriteNew(temporary, contents);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>The current user's SID, alone, with full control; inherited by what is created inside.</summary>
    [SupportedOSPlatform("windows")]
    private static DirectorySecurity PrivateDirectorySecurity()
    {
        var security = new DirectorySecurity();
        security.SetAccessRuleProtection(isProtected: true, preserveInheritance: false);
        security.AddAccessRule(new FileSystemAccessRule(
            CurrentUser(), FileSystemRights.FullControl, InheritanceFlags.ContainerInherit | InheritanceFlags.ObjectInherit, PropagationFlags.None, AccessControlType.Allow));
        return security;
    }

    [SupportedOSPlatform("windows")]
    private static FileSecurity PrivateFileSecurity()
    {
        var security = new FileSecurity();
        security.SetAccessRuleProtection(isProtected: true, preserveInheritance: false);
        security.AddAccessRule(new FileSystemAccessRule(CurrentUser(), FileSystemRights.FullControl, AccessControlType.Allow));
        return security;
    }

    [SupportedOSPlatform("windows")]
    private static SecurityIdentifier CurrentUser()
    {
        using var identity = WindowsIdentity.GetCurrent();
        return identity.User ?? throw new InvalidOperationException("the current Windows user has no security identifier; cannot make a file private to it");
    }
}
