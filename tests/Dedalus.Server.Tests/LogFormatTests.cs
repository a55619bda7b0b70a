using System.Text.Json;
using System.Text.RegularExpressions;
using Dedalus.Server.Hosting;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// The real <c>dedalus-server</c> writing its log in each <c>--log-format</c>, read back line by line: JSON lines parse,
/// systemd lines carry a priority prefix and no colours, systemd is chosen by itself under systemd, and neither the
/// CA private keys, the server secret nor the dev API key ever appear.
/// </summary>
public sealed partial class LogFormatTests : IDisposable
{
    private readonly TempDirectory _home = new();

    public LogFormatTests()
    {
        // The machines' mapped root must traverse the data directory's ancestors (0711: traverse, not list).
        File.SetUnixFileMode(_home.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Json_writes_one_object_per_line_with_timestamp_level_category_event_id_message_and_state()
    {
        var lines = await RunServerAsync(["--log-format", "json"]);

        var entries = lines.Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
        Assert.All(entries, entry =>
        {
            Assert.True(DateTimeOffset.TryParse(entry.GetProperty("Timestamp").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _), entry.ToString());
            Assert.False(string.IsNullOrEmpty(entry.GetProperty("LogLevel").GetString()));
            Assert.False(string.IsNullOrEmpty(entry.GetProperty("Category").GetString()));
            Assert.Equal(JsonValueKind.Number, entry.GetProperty("EventId").ValueKind);
            Assert.Equal(JsonValueKind.String, entry.GetProperty("Message").ValueKind);
        });

        // The start line: its structured values are there as state, beside the rendered message.
        var starting = Assert.Single(entries, e => e.GetProperty("Category").GetString() == "Dedalus.Server" && e.GetProperty("EventId").GetInt32() == 1401);
        Assert.Equal("Information", starting.GetProperty("LogLevel").GetString());
        var dataDirectory = starting.GetProperty("State").GetProperty("DataDirectory").GetString();
        Assert.StartsWith(_home.Path, dataDirectory, StringComparison.Ordinal);
        Assert.EndsWith("/data", dataDirectory, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Array, starting.GetProperty("Scopes").ValueKind);
    }

    [Fact]
    public async Task Systemd_writes_one_line_per_entry_with_a_priority_prefix_and_no_colours()
    {
        var lines = await RunServerAsync(["--log-format", "systemd"]);

        Assert.All(lines, line => Assert.Matches(SystemdLine(), line));
        Assert.DoesNotContain(lines, line => line.Contains('\u001b', StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("<6>Dedalus.Server[1401] Dedalus server: data in ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Under_systemd_the_format_is_systemd_unless_told_otherwise()
    {
        var auto = await RunServerAsync([], new Dictionary<string, string> { ["INVOCATION_ID"] = "0123456789abcdef0123456789abcdef" });
        Assert.All(auto, line => Assert.Matches(SystemdLine(), line));

        var told = await RunServerAsync(["--log-format", "simple"], new Dictionary<string, string> { ["JOURNAL_STREAM"] = "8:12345" });
        Assert.Contains(told, line => line.StartsWith("info: Dedalus.Server[1401]", StringComparison.Ordinal));
        Assert.DoesNotContain(told, line => SystemdLine().IsMatch(line));

        Assert.Equal(LogFormats.Simple, ServerLogging.Choose(null, _ => null));
        Assert.Equal(LogFormats.Systemd, ServerLogging.Choose(null, name => name == "JOURNAL_STREAM" ? "8:1" : null));
        Assert.Equal(LogFormats.Json, ServerLogging.Choose(LogFormats.Json, _ => "set"));
    }

    [Fact]
    public async Task A_log_format_that_does_not_exist_is_refused_naming_the_choices()
    {
        var result = await ServerProgram.RunAsync(_home, "--data-dir", _home.Combine("data"), "--log-format", "xml");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("dedalus-server: --log-format: must be simple, systemd or json, not 'xml'", result.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_home.Combine("data")));
    }

    /// <summary>
    /// Runs the server (with <c>--dev</c>, so that an API key exists) until it has written its dev credentials, makes a
    /// refused request, stops it with SIGTERM, checks that no secret is in what it wrote, and returns its stdout lines.
    /// </summary>
    private async Task<IReadOnlyList<string>> RunServerAsync(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var run = _home.Combine("run-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(run);
        File.SetUnixFileMode(run, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var data = Path.Combine(run, "data");
        var port = FreePort.Next();
        var variables = new Dictionary<string, string>
        {
            ["HOME"] = run,
            ["XDG_CONFIG_HOME"] = run,
            ["XDG_DATA_HOME"] = run,
            ["INVOCATION_ID"] = string.Empty,
            ["JOURNAL_STREAM"] = string.Empty,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            variables[name] = value;
        }

        await using var process = TestProcess.Start(
            ServerProgram.Path,
            ["--data-dir", data, "--listen", $"127.0.0.1:{port}", "--gateway", "false", "--machine-network", "off", "--dev", .. arguments],
            variables,
            drainOutput: true);
        Assert.True(await process.Output.WaitForAsync("Dev credentials for org", timeout: TimeSpan.FromSeconds(60)), process.Output.Text + process.Errors.Text);

        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/v1/machines");
            request.Headers.Add("x-api-key", "dk_not_a_key");
            using var refused = await http.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        await process.SignalAsync("TERM");
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var output = process.Output.Text + process.Errors.Text;

        foreach (var secret in Secrets(data, Path.Combine(run, "dedalus", "dev.env")))
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        }

        var lines = process.Output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        return lines;
    }

    /// <summary>The private key bodies (each base64 line), the server secret (hex and base64) and the dev API key.</summary>
    private static IEnumerable<string> Secrets(string dataDirectory, string devEnv)
    {
        var ca = Path.Combine(dataDirectory, "ca");
        var keys = new[] { "user_ca", "host_ca" }.Select(name => File.ReadAllLines(Path.Combine(ca, name))).ToList();
        Assert.All(keys, key => Assert.StartsWith("-----BEGIN OPENSSH PRIVATE KEY-----", key[0], StringComparison.Ordinal));
        foreach (var line in keys.SelectMany(key => key).Where(line => !line.StartsWith("-----", StringComparison.Ordinal) && line.Length >= 16))
        {
            yield return line;
        }

        var secret = File.ReadAllBytes(Path.Combine(ca, "server_secret"));
        yield return Convert.ToHexString(secret);
        yield return Convert.ToHexStringLower(secret);
        yield return Convert.ToBase64String(secret);

        var apiKey = File.ReadAllLines(devEnv).Single(line => line.StartsWith("DEDALUS_API_KEY=", StringComparison.Ordinal))["DEDALUS_API_KEY=".Length..];
        Assert.True(apiKey.Length >= 16, apiKey);
        yield return apiKey;
    }

    [GeneratedRegex(@"^<[0-7]>\S+\[\d+\] ")]
    private static partial Regex SystemdLine();
}
