using Dedalus.OpenSsh;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// <c>dedalus-server ca rotate|show</c> as a real process on a data directory a server has made its keys in: what it
/// prints and writes, and bad input refused on one line with nothing changed.
/// </summary>
public sealed class CaCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new();
    private readonly TempDirectory _home = new();

    private string CaDirectory => Path.Combine(_data.Path, "ca");

    public async Task InitializeAsync()
    {
        // A server's first start makes the keys; the commands work on what it left.
        await using var server = await RunningServer.StartAsync(_data.Path);
    }

    public Task DisposeAsync()
    {
        _data.Dispose();
        _home.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("give --user (the CA of session certificates) or --host (the master of the machines' host CAs)")]
    [InlineData("give --user or --host, not both", "--user", "--host")]
    [InlineData("--overlap must be a duration from 0 to 24h (0, 90s, 15m, 1h or 01:00:00), not 'soon'", "--user", "--overlap", "soon")]
    [InlineData("--overlap must be a duration from 0 to 24h (0, 90s, 15m, 1h or 01:00:00), not '25h'", "--user", "--overlap", "25h")]
    [InlineData("--overlap must be a duration from 0 to 24h (0, 90s, 15m, 1h or 01:00:00), not '-00:01:00'", "--user", "--overlap", "-00:01:00")]
    [InlineData("--overlap goes with --user: a host CA rotation has no overlap", "--host", "--overlap", "1h")]
    [InlineData("Required argument missing for option: '--overlap'", "--user", "--overlap")]
    [InlineData("'--users'", "--users")]
    public async Task Bad_arguments_are_one_line_naming_them_exit_2_and_change_nothing(string named, params string[] arguments)
    {
        var before = Snapshot();

        var result = await RunAsync(["ca", "rotate", "--data-dir", _data.Path, .. arguments]);

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("dedalus-server: ", line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
        Assert.EndsWith("see `dedalus-server ca rotate --help`", line, StringComparison.Ordinal);
        Assert.Empty(result.StandardOutput);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task A_data_directory_without_a_servers_CA_keys_is_refused_and_left_as_it_was()
    {
        using var empty = new TempDirectory();
        var missing = Path.Combine(empty.Path, "nothing-here");

        var rotate = await RunAsync("ca", "rotate", "--user", "--data-dir", empty.Path);
        var show = await RunAsync("ca", "show", "--data-dir", missing);

        Assert.Equal(1, rotate.ExitCode);
        var line = Assert.Single(rotate.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"dedalus-server: no CA keys in {empty.Path}/ca: start dedalus-server once with --data-dir {empty.Path}, or check the path", line);
        Assert.Equal(1, show.ExitCode);
        Assert.Single(show.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty.Path));
    }

    [Fact]
    public async Task Show_prints_the_fingerprints_and_a_rotation_keeps_the_old_user_CA_with_the_end_of_its_overlap()
    {
        var userCa = PublicKey("user_ca.pub");
        var hostCa = PublicKey("host_ca.pub");

        var first = await RunAsync("ca", "show", "--data-dir", _data.Path);
        var rotated = await RunAsync("ca", "rotate", "--user", "--overlap", "90m", "--data-dir", _data.Path);
        var newUserCa = PublicKey("user_ca.pub");
        var second = await RunAsync("ca", "rotate", "--user", "--data-dir", _data.Path);
        var newestUserCa = PublicKey("user_ca.pub");
        var host = await RunAsync("ca", "rotate", "--host", "--data-dir", _data.Path);
        var newHostCa = PublicKey("host_ca.pub");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(
            [
                $"user CA           {userCa.Fingerprint}  signs new session certificates ({CaDirectory}/user_ca)",
                "previous user CA  none",
                $"host CA master    {hostCa.Fingerprint}  every machine's host CA derives from it ({CaDirectory}/host_ca)",
            ],
            Lines(first.StandardOutput));

        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        var lines = Lines(rotated.StandardOutput);
        Assert.Matches(
            $"^user CA rotated: {Escape(newUserCa.Fingerprint)} replaces {Escape(userCa.Fingerprint)}, whose private key is deleted; machines trust its certificates until \\d{{4}}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\(overlap 1h 30m\\)$",
            lines[0]);
        Assert.Matches($"^previous user CA  {Escape(userCa.Fingerprint)}  trusted by machines until .+Z \\(1h (29|30)m from now\\)$", lines[2]);
        Assert.Empty(rotated.StandardError);

        // A second rotation keeps the first's end (its 90 minutes are within the new default overlap).
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("(overlap 24h 0m)", second.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"previous user CA  {userCa.Fingerprint}  trusted by machines until", second.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"previous user CA  {newUserCa.Fingerprint}  trusted by machines until", second.StandardOutput, StringComparison.Ordinal);
        var retired = File.ReadAllLines(Path.Combine(CaDirectory, "user_ca.retired")).Where(l => !l.StartsWith('#')).ToList();
        Assert.Equal(2, retired.Count);
        Assert.Equal(userCa, SshPublicKey.Parse(retired[0].Split(' ', 2)[1]));
        Assert.Equal(newUserCa, SshPublicKey.Parse(retired[1].Split(' ', 2)[1]));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ssh-ed25519 ", retired[0]);

        Assert.True(host.ExitCode == 0, host.ToString());
        Assert.StartsWith($"host CA rotated: {newHostCa.Fingerprint} replaces {hostCa.Fingerprint}, which is deleted", host.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"user CA           {newestUserCa.Fingerprint}", host.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Overlap_0_ends_the_trust_of_every_retired_user_CA_now()
    {
        await RunAsync("ca", "rotate", "--user", "--data-dir", _data.Path);
        var retiredFirst = PublicKey("user_ca.pub");

        var result = await RunAsync("ca", "rotate", "--user", "--overlap", "0", "--data-dir", _data.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("whose certificates machines refuse now (overlap 0)", result.StandardOutput, StringComparison.Ordinal);
        Assert.Matches($"(?m)^previous user CA  {Escape(retiredFirst.Fingerprint)}  no longer trusted \\(since .+Z\\)$", result.StandardOutput);
        Assert.DoesNotContain("trusted by machines until", result.StandardOutput, StringComparison.Ordinal);
        Assert.Single(File.ReadAllLines(Path.Combine(CaDirectory, "user_ca.retired")), l => !l.StartsWith('#'));
    }

    [Fact]
    public async Task A_rotation_waits_for_the_lock_and_gives_up_on_one_line_changing_nothing()
    {
        var before = Snapshot();
        using (new FileStream(Path.Combine(CaDirectory, "rotation.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var result = await RunAsync("ca", "rotate", "--host", "--data-dir", _data.Path);

            Assert.Equal(1, result.ExitCode);
            var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal($"dedalus-server: {CaDirectory}/rotation.lock is held by another `dedalus-server ca rotate`: try again once it is done", line);
        }

        Assert.Equal(before, Snapshot());
        Assert.Equal(0, (await RunAsync("ca", "rotate", "--host", "--data-dir", _data.Path)).ExitCode);
    }

    [Fact]
    public async Task Help_explains_the_overlap_and_the_server_lists_the_ca_command()
    {
        var rotate = await RunAsync("ca", "rotate", "--help");
        var ca = await RunAsync("ca", "--help");
        var server = await RunAsync("--help");

        Assert.True(rotate.ExitCode == 0, rotate.ToString());
        foreach (var text in new[] { "--user", "--host", "--overlap", "--data-dir", "default 24h", "--overlap 0", "compromise", "deleted", "host key verification" })
        {
            Assert.Contains(text, rotate.StandardOutput, StringComparison.Ordinal);
        }

        Assert.Contains("rotate", ca.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("show", ca.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("ca", server.StandardOutput, StringComparison.Ordinal);
    }

    private SshPublicKey PublicKey(string name) => SshPublicKey.Parse(File.ReadAllText(Path.Combine(CaDirectory, name)).Trim());

    /// <summary>Every file of the CA directory but the lock, by name, with its bytes.</summary>
    private string Snapshot() => string.Join(
        '\n',
        Directory.GetFiles(CaDirectory).Where(f => !f.EndsWith("rotation.lock", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .Select(f => Path.GetFileName(f) + "=" + Convert.ToBase64String(File.ReadAllBytes(f))));

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string Escape(string text) => System.Text.RegularExpressions.Regex.Escape(text);

    private Task<ProcessResult> RunAsync(params string[] arguments) => ServerProgram.RunAsync(_home, arguments);
}
