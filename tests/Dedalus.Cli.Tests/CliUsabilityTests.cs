using Microsoft.AspNetCore.Builder;

namespace Dedalus.Cli.Tests;

/// <summary>What a newcomer meets first: help that shows examples, and mistakes caught before any request.</summary>
public sealed class CliUsabilityTests(FakeMachinesFixture fixture) : IClassFixture<FakeMachinesFixture>, IDisposable
{
    private readonly CliProgram _cli = new();

    public void Dispose() => _cli.Dispose();

    [Theory]
    [InlineData("ssh")]
    [InlineData("machines", "create")]
    [InlineData("machines", "list")]
    [InlineData("ssh-config")]
    public async Task Help_of_a_command_with_required_arguments_shows_usage_and_examples(params string[] command)
    {
        var result = await _cli.RunAsync([.. command, "--help"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty(result.StandardError);
        Assert.Contains("Usage:", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Examples:\n  dedalus " + command[0], result.StandardOutput.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_root_help_lists_each_command_on_one_line_and_ssh_config_help_keeps_the_details()
    {
        var root = await _cli.RunAsync("--help");
        var sshConfig = await _cli.RunAsync("ssh-config", "--help");

        Assert.Equal(0, root.ExitCode);
        Assert.DoesNotContain("How it works", root.StandardOutput, StringComparison.Ordinal);
        Assert.Single(root.StandardOutput.Split('\n'), l => l.TrimStart().StartsWith("ssh-config ", StringComparison.Ordinal));
        Assert.Contains("How it works", sshConfig.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_help_names_the_defaults_and_limits()
    {
        var result = await _cli.RunAsync("machines", "create", "--help");

        Assert.Contains("(default: 5m)", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("0.25 to 64", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("can only grow", result.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("'a/b' is not a machine id or name: a name must not contain control characters or '/'", "machines", "retrieve", "--machine-id", "a/b")]
    [InlineData("'..' is not a machine id or name: a name cannot be '.' or '..'", "machines", "delete", "..")]
    [InlineData("dedalus: missing <machine>: pass a machine id", "machines", "sleep")]
    [InlineData("dedalus: the machine is given twice", "machines", "wake", "web-1", "--machine-id", "web-1")]
    [InlineData("dedalus: missing <machine>", "machines", "reboot", "--force")]
    [InlineData("dedalus: missing <machine>", "machines", "autoresizing", "enable")]
    [InlineData("dedalus: missing --enabled: pass --enabled", "machines", "autoresizing", "update", "web-1")]
    [InlineData("dedalus: missing --enabled", "machines:autoresizing", "update", "--machine-id", Samples.MachineId)]
    [InlineData("dedalus: missing --enabled", "organization:autoresizing", "update")]
    [InlineData("dedalus: Unrecognized command or argument 'maybe'", "organization", "autoresizing", "update", "--enabled=maybe")]
    [InlineData("dedalus: missing command: one of autoresizing", "organization")]
    [InlineData("dedalus: missing command: one of get, enable, disable, update", "organization", "autoresizing")]
    [InlineData("dedalus: Unrecognized command or argument 'x'", "organization", "autoresizing", "get", "x")]
    [InlineData("dedalus: --name must be 1 to 63 characters", "machines", "create", "--name", "")]
    [InlineData("dedalus: --name must not look like a machine id", "machines", "update", "web-1", "--name", Samples.MachineId)]
    [InlineData("dedalus: --max-items must be 0 or more, or -1 for all", "machines", "list", "--max-items", "-2")]
    [InlineData("dedalus: --max-items must be a whole number, not 'ten'", "machines", "ssh", "list", "--machine-id", "web-1", "--max-items", "ten")]
    [InlineData("dedalus: --cursor needs a value", "machines", "executions", "list", "--machine-id", "web-1", "--cursor")]
    [InlineData("dedalus: --cursor and --follow do not go together", "machines", "executions", "events", "--machine-id", "web-1", "--execution-id", "ex-1", "--follow", "--cursor", "c")]
    [InlineData("dedalus: --transform must be a dot path", "machines", "list", "--transform", "a..b")]
    [InlineData("'a/b' is not a machine id or name", "doctor", "a/b")]
    [InlineData("dedalus: Unrecognized command or argument 'list'", "machines:ssh", "list", "list")]
    [InlineData("missing --execution-id", "machines:executions", "delete", "--machine-id", Samples.MachineId)]
    [InlineData("--limit must be 1 or more", "machines", "list", "--limit", "0")]
    [InlineData("--wait-timeout must be a number of seconds greater than 0", "ssh", Samples.MachineId, "--wait-timeout", "0")]
    [InlineData("unknown option '-x'", "ssh", Samples.MachineId, "-x", "--", "true")]
    [InlineData("Must be one of: 'json', 'jsonl', 'yaml', 'pretty', 'raw', 'auto'", "machines", "list", "--format", "xml")]
    [InlineData("dedalus: missing command: one of ssh, machines, ssh-config, organization, doctor: see `dedalus --help`")]
    [InlineData("dedalus: Unrecognized command or argument 'lst': see `dedalus machines --help`", "machines", "lst")]
    [InlineData("dedalus: missing <machine_id>: see `dedalus ssh --help`", "ssh")]
    [InlineData("dedalus: --memory-mib must be a whole number, not '1g'", "machines", "create", "--vcpu", "1", "--memory-mib", "1g", "--storage-gib", "2")]
    [InlineData("dedalus: --machine-id needs a value", "machines", "update", "--machine-id")]
    [InlineData("dedalus: --format needs a value", "--format")]
    [InlineData("dedalus: --limit must be a whole number, not 'x'", "machines", "list", "--limit", "x")]
    [InlineData("dedalus: --wait-timeout must be a number, not 'soon'", "ssh", Samples.MachineId, "--wait-timeout", "soon")]
    [InlineData("dedalus: --vcpu must be a number, not 'lots'", "machines", "create", "--vcpu", "lots", "--memory-mib", "1024", "--storage-gib", "2")]
    [InlineData("dedalus: nothing to change: pass --vcpu, --memory-mib, --storage-gib, --autosleep, --name, --egress, --allow-cidr or --deny-cidr", "machines", "update", "--machine-id", Samples.MachineId)]
    [InlineData("'dm-nonsense' is not a machine id or name", "machines", "exec", "dm-nonsense", "--", "true")]
    [InlineData("missing command: put it after --", "machines", "exec", Samples.MachineId, "--")]
    [InlineData("unknown option '--cdw'", "machines", "exec", Samples.MachineId, "--cdw", "/tmp", "--", "true")]
    [InlineData("--timeout 25h is out of range", "machines", "exec", Samples.MachineId, "--timeout", "25h", "--", "true")]
    [InlineData("--env 'A-B=1': a variable name", "machines", "exec", Samples.MachineId, "--env", "A-B=1", "--", "true")]
    [InlineData("'..' is not an execution id", "machines", "executions", "cancel", "--machine-id", Samples.MachineId, "--execution-id", "..")]
    [InlineData("missing --execution-id", "machines", "executions", "output", "--machine-id", Samples.MachineId)]
    public async Task Mistakes_are_usage_errors_on_one_line_before_any_request(string expected, params string[] arguments)
    {
        // An address nothing listens on: a request would exit 15, not 2.
        _cli.Environment["DEDALUS_BASE_URL"] = $"http://127.0.0.1:{Dedalus.Testing.FreePort.Next()}";
        _cli.Environment["DEDALUS_API_KEY"] = "k";

        var result = await _cli.RunAsync(arguments);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Empty(result.StandardOutput);
        CliErrorTests.AssertOneLine(result.StandardError, expected);
        Assert.DoesNotContain("\t", result.StandardError, StringComparison.Ordinal);
        Assert.True(result.StandardError.Split("see `").Length <= 2, "one pointer at most: " + result.StandardError);
    }

    [Theory]
    [InlineData("--", "ls", "-d", "/")]
    [InlineData("ls", "-d", "/")]
    public async Task Dashes_inside_the_remote_command_reach_it(params string[] command)
    {
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = FakeMachinesApi.GoodKey;

        var result = await _cli.RunAsync(["ssh", Samples.MachineId, .. command]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("/", result.StandardOutput.Trim());
    }

    [Theory]
    [InlineData("memory_mib", "memory_mib must be between 128 and 262144", "dedalus: --memory-mib must be between 128 and 262144 (HTTP 400 INVALID_REQUEST)")]
    [InlineData("vcpu", "vcpu must be a multiple of 0.25", "dedalus: --vcpu must be a multiple of 0.25 (HTTP 400 INVALID_REQUEST)")]
    [InlineData("storage_gib", "storage_gib can only grow", "dedalus: --storage-gib can only grow (HTTP 400 INVALID_REQUEST)")]
    [InlineData("vcpu", "vcpus are scarce", "dedalus: vcpus are scarce (HTTP 400 INVALID_REQUEST)")]
    [InlineData(null, "memory_mib is odd", "dedalus: memory_mib is odd (HTTP 400 INVALID_REQUEST)")]
    public async Task A_rejected_field_is_named_by_its_flag(string? field, string serverMessage, string expected)
    {
        await using var api = await StubApi.StartAsync(app =>
            app.MapPost("/v1/machines", () => StubApi.Error(400, ErrorCodes.InvalidRequest, serverMessage, field: field)));
        _cli.Environment["DEDALUS_BASE_URL"] = api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = "k";

        var result = await _cli.RunAsync("machines", "create", "--vcpu", "1", "--memory-mib", "1", "--storage-gib", "1");

        Assert.Equal(13, result.ExitCode);
        CliErrorTests.AssertOneLine(result.StandardError, expected);
    }

    [Fact]
    public async Task A_missing_public_key_file_is_named()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = FakeMachinesApi.GoodKey;
        var missing = Path.Combine(_cli.Root, "no-such.pub");

        var result = await _cli.RunAsync("machines", "ssh", "create", "--machine-id", Samples.MachineId, "--public-key", "@" + missing);

        Assert.Equal(2, result.ExitCode);
        CliErrorTests.AssertOneLine(result.StandardError, $"dedalus: cannot read the public key file '{missing}' (no such file)");
    }

    [Fact]
    public async Task An_unknown_session_points_at_the_session_list()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = FakeMachinesApi.GoodKey;

        var result = await _cli.RunAsync("machines", "ssh", "delete", "--machine-id", Samples.MachineId, "--session-id", "ssh-404");

        Assert.Equal(11, result.ExitCode);
        CliErrorTests.AssertOneLine(result.StandardError, "check the session id with `dedalus machines ssh list --machine-id <id>`");
    }

    [Fact]
    public async Task An_upper_case_machine_id_is_accepted()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = FakeMachinesApi.GoodKey;

        var result = await _cli.RunAsync("machines", "retrieve", "--machine-id", Samples.MachineId.ToUpperInvariant(), "--format", "raw");

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task A_base_url_copied_with_v1_still_works()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString().TrimEnd('/') + "/v1/";
        _cli.Environment["DEDALUS_API_KEY"] = FakeMachinesApi.GoodKey;

        var result = await _cli.RunAsync("machines", "retrieve", "--machine-id", Samples.MachineId, "--format", "raw");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("{\"machine_id\":\"" + Samples.MachineId + "\"", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_404_for_an_unknown_path_points_at_the_base_url_not_the_id()
    {
        // The fake has no GET /v1/machines: like a base URL that points at another web server.
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = FakeMachinesApi.GoodKey;

        var result = await _cli.RunAsync("machines", "list");

        Assert.Equal(11, result.ExitCode);
        CliErrorTests.AssertOneLine(result.StandardError, "check DEDALUS_BASE_URL or --base-url");
        Assert.DoesNotContain("machines list`", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ssh_to_a_destroyed_machine_exits_11_and_says_to_create_one()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = FakeMachinesApi.GoodKey;

        var result = await _cli.RunAsync("ssh", FakeMachinesApi.DestroyedMachineId, "--", "true");

        Assert.Equal(11, result.ExitCode);
        CliErrorTests.AssertOneLine(result.StandardError, "is destroyed (MACHINE_DESTROYED): create a new one with `dedalus machines create`");
        Assert.Empty(_cli.Leftovers());
    }

    /// <summary>
    /// Runs a program just copied. Another test's process started meanwhile (a fork inherits every descriptor until
    /// its exec) may still hold the copy's write descriptor for an instant: exec then fails with "Text file busy";
    /// that is tried again, a few times.
    /// </summary>
    private static async Task<Dedalus.Testing.ProcessResult> RunCopyAsync(string program, string[] arguments, IDictionary<string, string> environment)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await Dedalus.Testing.ProcessRunner.RunAsync(program, arguments, timeout: TimeSpan.FromSeconds(60), environment: environment);
            }
            catch (System.ComponentModel.Win32Exception e) when (attempt < 10 && e.Message.Contains("Text file busy", StringComparison.Ordinal))
            {
                await Task.Delay(100 * attempt);
            }
        }
    }

    [Fact]
    public async Task Ssh_works_from_a_copy_without_the_bundled_libsodium()
    {
        // Users copy the program to ~/.local/bin; the libsodium.so built next to it stays behind.
        var copy = Path.Combine(_cli.Root, "copy");
        CopyWithoutLibsodium(Path.GetDirectoryName(CliProgram.Program)!, copy);
        _cli.Environment["DEDALUS_BASE_URL"] = fixture.Fake.Api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = FakeMachinesApi.GoodKey;
        _cli.Environment["LD_LIBRARY_PATH"] = string.Empty;

        var result = await RunCopyAsync(
            Path.Combine(copy, Path.GetFileName(CliProgram.Program)),
            ["ssh", Samples.MachineId, "--", "echo", "copied"],
            _cli.EffectiveEnvironment());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("copied", result.StandardOutput.Trim());
        Assert.Empty(_cli.Leftovers());
        Assert.DoesNotContain("Unhandled exception", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_accepts_but_never_answers_is_mentioned_on_a_terminal_after_a_few_seconds()
    {
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        _cli.Environment["DEDALUS_BASE_URL"] = $"http://127.0.0.1:{port}";
        _cli.Environment["DEDALUS_API_KEY"] = "k";
        // script(1) gives the CLI a terminal, where the notice is drawn.
        await using var process = Dedalus.Testing.TestProcess.Start(
            "script", ["-qfec", "'" + CliProgram.Program.Replace("'", "'\\''", StringComparison.Ordinal) + "'" + " machines list", "/dev/null"], _cli.EffectiveEnvironment());
        var output = new System.Text.StringBuilder();
        var reader = Task.Run(async () =>
        {
            var buffer = new char[1024];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (output)
                {
                    output.Append(buffer, 0, read);
                }
            }
        });
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline && !Snapshot(output).Contains("no answer yet", StringComparison.Ordinal))
            {
                await Task.Delay(200);
            }

            var text = Snapshot(output);
            Assert.Contains($"dedalus: no answer yet from http://127.0.0.1:{port} after 5 s; still waiting", text, StringComparison.Ordinal);
            Assert.Contains("Ctrl-C to stop", text, StringComparison.Ordinal);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            await reader.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static string Snapshot(System.Text.StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static void CopyWithoutLibsodium(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (Path.GetFileName(file).Contains("libsodium", StringComparison.Ordinal)
                || (relative.StartsWith("runtimes", StringComparison.Ordinal) && !relative.Contains("linux-x64", StringComparison.Ordinal))
                || file.EndsWith(".pdb", StringComparison.Ordinal)
                || file.EndsWith(".xml", StringComparison.Ordinal))
            {
                continue;
            }

            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        if (OperatingSystem.IsLinux())
        {
            var program = Path.Combine(to, Path.GetFileName(CliProgram.Program));
            File.SetUnixFileMode(program, File.GetUnixFileMode(program) | UnixFileMode.UserExecute);
        }
    }
}
