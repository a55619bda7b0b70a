using Dedalus.Client.Platform;
using Dedalus.Testing;

namespace Dedalus.Client.Tests;

/// <summary>
/// Private files and directories as written on Unix (Linux here; macOS takes the same path). The Windows branch (an
/// owner-only ACL) compiles under the platform analyzer but can run only on Windows.
/// </summary>
public sealed class PrivateFilesTests
{
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    [Fact]
    public void A_new_private_file_is_0600_and_an_existing_file_is_never_overwritten()
    {
        using var directory = new TempDirectory();
        var path = directory.Combine("key");

        PrivateFiles.WriteNew(path, "secret\n");

        Assert.Equal(Mode0600, File.GetUnixFileMode(path));
        Assert.Equal("secret\n", File.ReadAllText(path));
        Assert.Throws<IOException>(() => PrivateFiles.WriteNew(path, "other\n"));
        Assert.Equal("secret\n", File.ReadAllText(path));
    }

    [Fact]
    public void Writing_atomically_replaces_a_widened_file_with_a_0600_one_and_leaves_no_temporary_file()
    {
        using var directory = new TempDirectory();
        var path = directory.Combine("widened");
        File.WriteAllText(path, "old\n");
        File.SetUnixFileMode(path, Mode0600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        PrivateFiles.WriteAtomically(path, "new\n");

        Assert.Equal(Mode0600, File.GetUnixFileMode(path));
        Assert.Equal("new\n", File.ReadAllText(path));
        Assert.Equal(["widened"], Directory.EnumerateFileSystemEntries(directory.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Private_directories_are_0700_and_an_existing_one_is_left_as_it_is()
    {
        using var directory = new TempDirectory();
        var nested = directory.Combine("a", "b");
        var existing = directory.Combine("existing");
        Directory.CreateDirectory(existing);
        File.SetUnixFileMode(existing, Mode0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);

        PrivateFiles.CreateDirectory(nested);
        PrivateFiles.CreateDirectory(existing);
        var temporary = PrivateFiles.CreateTemporaryDirectory("dedalus-test-", directory.Path);

        Assert.Equal(Mode0700, File.GetUnixFileMode(nested));
        Assert.Equal(Mode0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, File.GetUnixFileMode(existing));
        Assert.Equal(Mode0700, File.GetUnixFileMode(temporary));
        Assert.StartsWith(directory.Combine("dedalus-test-"), temporary, StringComparison.Ordinal);
    }
}
