using Dedalus.Cli.Commands;
using Dedalus.Cli.Configuration;
using Dedalus.Cli.Processes;
using Dedalus.Testing;

namespace Dedalus.Cli.Tests;

/// <summary>
/// The CLI's platform-specific choices that can be checked on Linux: where ssh is looked for on Windows, how paths and
/// commands are quoted for OpenSSH for Windows and cmd.exe, where the files live. Quoted config lines are read back by
/// the real OpenSSH (<c>ssh -G</c>), whose config parser is the same on Windows.
/// </summary>
public sealed class CliPlatformTests
{
    [Fact]
    public void On_Windows_ssh_is_ssh_exe_on_PATH_first()
    {
        var existing = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { @"C:\Program Files\Git\usr\bin\ssh.exe", @"C:\Windows\System32\OpenSSH\ssh.exe" };

        var found = Executables.FindOnWindows("ssh", @"C:\Tools;""C:\Program Files\Git\usr\bin"";", ".COM;.EXE;.BAT", @"C:\Windows", existing.Contains);

        Assert.Equal(@"C:\Program Files\Git\usr\bin\ssh.exe", found);
    }

    [Fact]
    public void On_Windows_ssh_falls_back_to_the_OpenSSH_folder_of_System32_which_not_every_shell_has_on_PATH()
    {
        var existing = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { @"C:\WINDOWS\System32\OpenSSH\ssh-keygen.exe" };

        Assert.Equal(@"C:\WINDOWS\System32\OpenSSH\ssh-keygen.exe", Executables.FindOnWindows("ssh-keygen", @"C:\Tools", null, @"C:\WINDOWS\", existing.Contains));
        Assert.Null(Executables.FindOnWindows("ssh", @"C:\Tools", null, @"C:\WINDOWS", existing.Contains));
    }

    [Fact]
    public void On_Windows_a_batch_file_named_ssh_is_never_taken_for_ssh()
    {
        var existing = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { @"C:\Tools\ssh.bat", @"C:\Tools\ssh.cmd", @"C:\Bin\ssh.exe" };

        Assert.Equal(@"C:\Bin\ssh.exe", Executables.FindOnWindows("ssh", @"C:\Tools;C:\Bin", ".BAT;.CMD;.EXE", null, existing.Contains));
    }

    [Theory]
    [InlineData(@"C:\Users\jane\.dotnet\tools\dedalus.exe", @"C:\Users\jane\.dotnet\tools\dedalus.exe")]
    [InlineData(@"C:\Users\Jane Doe\.dotnet\tools\dedalus.exe", @"""C:\Users\Jane Doe\.dotnet\tools\dedalus.exe""")]
    [InlineData(@"C:\Program Files\dedalus\", @"""C:\Program Files\dedalus\\""")]
    [InlineData(@"C:\a&b\dedalus.exe", @"""C:\a&b\dedalus.exe""")]
    public void Windows_command_words_are_double_quoted_when_not_plain(string path, string expected)
    {
        Assert.Equal(expected, Executables.WindowsQuote(path));
    }

    [Fact]
    public void Settings_and_cache_go_to_APPDATA_and_LOCALAPPDATA_on_Windows_and_dot_folders_elsewhere_unless_XDG_says()
    {
        string Folder(Environment.SpecialFolder folder) => folder switch
        {
            Environment.SpecialFolder.ApplicationData => @"C:\Users\jane\AppData\Roaming",
            Environment.SpecialFolder.LocalApplicationData => @"C:\Users\jane\AppData\Local",
            Environment.SpecialFolder.UserProfile => "/home/jane",
            _ => throw new ArgumentOutOfRangeException(nameof(folder)),
        };
        string? None(string name) => null;
        string? Xdg(string name) => name switch { "XDG_CONFIG_HOME" => "/x/config", "XDG_CACHE_HOME" => "/x/cache", _ => null };

        Assert.Equal(@"C:\Users\jane\AppData\Roaming", CliPaths.ConfigHome(None, windows: true, Folder));
        Assert.Equal(@"C:\Users\jane\AppData\Local", CliPaths.CacheHome(None, windows: true, Folder));
        Assert.Equal("/home/jane/.config", CliPaths.ConfigHome(None, windows: false, Folder));
        Assert.Equal("/home/jane/.cache", CliPaths.CacheHome(None, windows: false, Folder));
        Assert.Equal("/x/config", CliPaths.ConfigHome(Xdg, windows: true, Folder));
        Assert.Equal("/x/cache", CliPaths.CacheHome(Xdg, windows: false, Folder));
    }

    [Theory]
    [InlineData("/home/jane/.cache/dedalus/ssh/known_hosts.d/dm-1", "/home/jane/.cache/dedalus/ssh/known_hosts.d/dm-1")]
    [InlineData(@"C:\Users\Jane Doe\AppData\Local\dedalus\ssh\known_hosts.d\dm-1", @"""C:\\Users\\Jane Doe\\AppData\\Local\\dedalus\\ssh\\known_hosts.d\\dm-1""")]
    [InlineData(@"\\server\share\known_hosts", @"""\\\\server\\share\\known_hosts""")]
    [InlineData("/tmp/it's here/kh", @"""/tmp/it's here/kh""")]
    public void Config_words_quote_spaces_and_backslashes(string path, string expected)
    {
        Assert.Equal(expected, SshCache.ConfigWord(path));
    }

    [Theory]
    [InlineData(@"C:\Users\Jane Doe\AppData\Local\dedalus\ssh\known_hosts.d\dm-1")]
    [InlineData(@"\\server\share\known_hosts")]
    [InlineData("/tmp/with space/and\"quote/known_hosts")]
    [InlineData("/tmp/plain/known_hosts")]
    public async Task OpenSSH_reads_a_quoted_path_back_as_written_from_a_config_file_and_from_dash_o(string path)
    {
        using var directory = new TempDirectory("dedalus-quote-");
        var config = directory.WriteFile("config", $"Host *\n    UserKnownHostsFile {SshCache.ConfigWord(path)}\n    IdentityFile {SshCache.ConfigWord(path)}\n");

        var fromFile = await ProcessRunner.RunAsync("ssh", "-G", "-F", config, "dm-00000000-0000-4000-8000-000000000000");
        var fromOption = await ProcessRunner.RunAsync("ssh", "-G", "-F", "/dev/null", "-o", "UserKnownHostsFile=" + Dedalus.Client.SshSessionFiles.Quote(path), "example.test");

        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        Assert.True(fromOption.ExitCode == 0, fromOption.ToString());
        Assert.Contains("userknownhostsfile " + path + "\n", fromFile.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("identityfile " + path + "\n", fromFile.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("userknownhostsfile " + path + "\n", fromOption.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_ssh_config_Match_exec_runs_dedalus_from_a_path_with_spaces()
    {
        // A stand-in for dedalus at a path with spaces: it records its arguments; ssh -G evaluates Match exec and so runs it.
        using var directory = new TempDirectory("dedalus-exec-");
        var folder = directory.Combine("my tools", "dedalus 1");
        Directory.CreateDirectory(folder);
        var marker = directory.Combine("ran");
        var self = Path.Combine(folder, "dedalus");
        File.WriteAllText(self, $"#!/bin/sh\necho \"$@\" > '{marker}'\nexit 0\n");
        File.SetUnixFileMode(self, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var cache = new SshCache(directory.Combine("cache dir"));
        var exec = SshConfigCommand.SelfForMatchExec(Executables.ShellQuote(self), self, dedalusOnPath: null);
        var config = directory.WriteFile("config", SshConfigCommand.Render(cache, exec));

        var result = await ProcessRunner.RunAsync("ssh", "-G", "-F", config, "dm-00000000-0000-4000-8000-000000000000");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("ssh-cert dm-00000000-0000-4000-8000-000000000000\n", File.ReadAllText(marker));
    }

    [Theory]
    [InlineData("/opt/it's/dedalus")]
    [InlineData(@"C:\Users\Jane Doe\tools\dedalus.exe")]
    [InlineData(@"\\server\share\dedalus.exe")]
    public void A_dedalus_path_that_Match_exec_cannot_carry_is_named_by_PATH_or_refused(string path)
    {
        var command = path.Contains('\'', StringComparison.Ordinal) ? Executables.ShellQuote(path) : Executables.WindowsQuote(path);

        Assert.Equal("dedalus", SshConfigCommand.SelfForMatchExec(command, path, dedalusOnPath: path));
        var refused = Assert.Throws<CliException>(() => SshConfigCommand.SelfForMatchExec(command, path, dedalusOnPath: "/usr/local/bin/dedalus"));
        Assert.Contains("put this dedalus on PATH", refused.Message, StringComparison.Ordinal);
        Assert.Contains(path, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/home/jane/.dotnet/tools/dedalus")]
    [InlineData("'/home/jane/my tools/dedalus'")]
    [InlineData(@"C:\Users\jane\.dotnet\tools\dedalus.exe")]
    public void A_plain_or_singly_quoted_path_is_used_as_is(string command)
    {
        Assert.Equal(command, SshConfigCommand.SelfForMatchExec(command, "/elsewhere/dedalus", dedalusOnPath: null));
    }
}
