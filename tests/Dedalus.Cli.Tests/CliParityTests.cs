using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Cli.Tests;

/// <summary>
/// Issue #13: the official CLI's spellings and flags (colon resource commands, --max-items, --cursor, --transform,
/// --raw-output, --format jsonl, --debug), machine names, reboot and autoresizing, against a stub that records what was
/// sent. The stub serves five machines in pages that honour <c>limit</c>, with the index of the next item as cursor.
/// </summary>
public sealed class CliParityTests : IAsyncLifetime, IDisposable
{
    private const string Key = "secret-key-0123456789";

    private static readonly string[] Ids = [.. Enumerable.Range(1, 5).Select(i => $"dm-00000000-0000-4000-8000-00000000000{i}")];

    private readonly CliProgram _cli = new();
    private StubApi _api = null!;

    public async Task InitializeAsync()
    {
        _api = await StubApi.StartAsync(app =>
        {
            app.MapGet("/v1/machines", (int? limit, string? cursor) =>
            {
                var start = cursor is null ? 0 : int.Parse(cursor, System.Globalization.CultureInfo.InvariantCulture);
                var items = Ids.Skip(start).Take(limit ?? 2).Select((id, i) => Samples.Machine(id) with { Name = i == 0 ? "web-" + (start + 1) : null }).ToList();
                var next = start + items.Count < Ids.Length ? (start + items.Count).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
                return Wire.Json(new MachineList(items, next));
            });
            app.MapPost("/v1/machines", () => Wire.Json(Samples.Machine(Ids[0])));
            app.MapGet("/v1/machines/{machine}", (string machine) => Wire.Json(Samples.Machine(Ids[0]) with { Name = "web 1" }));
            app.MapPatch("/v1/machines/{machine}", () => Wire.Json(Samples.Machine(Ids[0])));
            app.MapPost("/v1/machines/{machine}/reboot", () => Wire.Json(Samples.Machine(Ids[0], MachinePhases.Starting)));
            app.MapGet("/v1/machines/{machine}/autoresizing", () => Settings(new AutoresizingSettings(true)));
            app.MapPut("/v1/machines/{machine}/autoresizing", async (HttpRequest request) => Settings(await Enabled(request)));
            app.MapGet("/v1/organization/autoresizing", () => Settings(new AutoresizingSettings(false)));
            app.MapPut("/v1/organization/autoresizing", async (HttpRequest request) => Settings(await Enabled(request)));
            app.MapGet("/v1/machines/{machine}/ssh", () => Wire.Json(new SshSessionList([Samples.Session(SshSessionStatuses.Ready)])));
            app.MapGet("/v1/machines/{machine}/executions/{execution}", () => StubApi.Error(404, ErrorCodes.NotFound, "no such execution", resource: NotFoundResources.Execution));
            app.MapDelete("/v1/machines/{machine}/executions/{execution}", () => StubApi.Error(404, ErrorCodes.NotFound, "no such execution", resource: NotFoundResources.Execution));
        });
        _cli.Environment["DEDALUS_BASE_URL"] = _api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = Key;
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public void Dispose() => _cli.Dispose();

    [Theory]
    [InlineData("GET /v1/machines/" + Samples.MachineId + "/ssh", "machines:ssh", "list", "--machine-id", Samples.MachineId)]
    [InlineData("GET /v1/machines/" + Samples.MachineId + "/executions/ex-1", "machines:executions", "retrieve", "--machine-id", Samples.MachineId, "--execution-id", "ex-1")]
    [InlineData("DELETE /v1/machines/" + Samples.MachineId + "/executions/ex-1", "machines:executions", "delete", "--machine-id", Samples.MachineId, "--execution-id", "ex-1")]
    [InlineData("DELETE /v1/machines/" + Samples.MachineId + "/executions/ex-1", "machines", "executions", "delete", "--machine-id", Samples.MachineId, "--execution-id", "ex-1")]
    [InlineData("GET /v1/machines/" + Samples.MachineId + "/autoresizing", "machines:autoresizing", "retrieve", "--machine-id", Samples.MachineId)]
    [InlineData("PUT /v1/machines/" + Samples.MachineId + "/autoresizing {\"enabled\":true}", "machines:autoresizing", "update", "--machine-id", Samples.MachineId, "--enabled")]
    [InlineData("PUT /v1/machines/" + Samples.MachineId + "/autoresizing {\"enabled\":false}", "machines:autoresizing", "update", "--machine-id", Samples.MachineId, "--enabled=false")]
    [InlineData("PUT /v1/machines/web-1/autoresizing {\"enabled\":true}", "machines", "autoresizing", "enable", "web-1")]
    [InlineData("PUT /v1/machines/web-1/autoresizing {\"enabled\":false}", "machines", "autoresizing", "disable", "--machine-id", "web-1")]
    [InlineData("GET /v1/machines/web-1/autoresizing", "machines", "autoresizing", "get", "web-1")]
    [InlineData("GET /v1/organization/autoresizing", "organization:autoresizing", "retrieve")]
    [InlineData("PUT /v1/organization/autoresizing {\"enabled\":true}", "organization:autoresizing", "update", "--enabled")]
    [InlineData("PUT /v1/organization/autoresizing {\"enabled\":false}", "organization", "autoresizing", "disable")]
    [InlineData("GET /v1/organization/autoresizing", "organization", "autoresizing", "get")]
    [InlineData("POST /v1/machines/" + Samples.MachineId + "/reboot", "machines", "reboot", Samples.MachineId)]
    [InlineData("POST /v1/machines/" + Samples.MachineId + "/reboot?force=true", "machines", "reboot", "--machine-id", Samples.MachineId, "--force")]
    [InlineData("GET /v1/machines/web-1", "machines", "retrieve", "web-1")]
    [InlineData("GET /v1/machines/web%201", "machines", "get", "--machine-id", "web 1")]
    [InlineData("GET /v1/machines/%C3%A9t%C3%A9%3Fx=1%23y", "machines", "retrieve", "été?x=1#y")]
    [InlineData("GET /v1/machines/web-1/ssh", "machines", "ssh", "list", "--machine-id", "web-1")]
    [InlineData("POST /v1/machines {}", "machines", "create")]
    [InlineData("POST /v1/machines {\"vcpu\":0.5,\"name\":\"web-1\"}", "machines", "create", "--vcpu", "0.5", "--name", "web-1")]
    [InlineData("PATCH /v1/machines/" + Samples.MachineId + " {\"name\":\"web-2\"}", "machines", "update", Samples.MachineId, "--name", "web-2")]
    [InlineData("PATCH /v1/machines/web-2 {\"name\":\"\"}", "machines", "update", "web-2", "--name", "")]
    [InlineData("POST /v1/machines {\"network\":{\"egress\":\"none\"}}", "machines", "create", "--egress", "none")]
    [InlineData(
        "POST /v1/machines {\"network\":{\"allow_cidrs\":[\"10.20.0.0/16\",\"10.30.0.0/16\",\"10.40.0.0/16\"],\"deny_cidrs\":[\"203.0.113.0/24\"]}}",
        "machines", "create", "--allow-cidr", "10.20.0.0/16,10.30.0.0/16", "--allow-cidr", "10.40.0.0/16", "--deny-cidr", "203.0.113.0/24")]
    [InlineData("PATCH /v1/machines/web-1 {\"network\":{\"allow_cidrs\":[]}}", "machines", "update", "web-1", "--allow-cidr", "none")]
    [InlineData("PATCH /v1/machines/web-1 {\"network\":{\"egress\":\"open\"}}", "machines", "update", "web-1", "--egress", "open")]
    public async Task Each_spelling_sends_its_request(string expected, params string[] arguments)
    {
        var result = await _cli.RunAsync([.. arguments, "--format", "json"]);

        Assert.True(result.ExitCode is 0 or 11, result.ToString());
        var request = Assert.Single(_api.Requests);
        var body = request.Body.Length > 0 ? " " + request.Body : string.Empty;
        Assert.Equal(expected, $"{request.Method} {request.PathAndQuery}{body}");
        if (request.Method != "GET")
        {
            Assert.False(string.IsNullOrEmpty(request.Header("Idempotency-Key")), "a mutation carries an Idempotency-Key");
        }
    }

    [Fact]
    public async Task Max_items_stops_across_pages_and_prints_the_cursor_that_continues_exactly_there()
    {
        var first = await _cli.RunAsync("machines", "list", "--max-items", "3", "--format", "jsonl");
        var rest = await _cli.RunAsync("machines", "list", "--cursor", "3", "--format", "jsonl");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(Ids[..3], first.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(MachineIdOf));
        Assert.Equal("next cursor: 3\n", first.StandardError);
        Assert.True(rest.ExitCode == 0, rest.ToString());
        Assert.Equal(Ids[3..], rest.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(MachineIdOf));
        Assert.Empty(rest.StandardError);
        Assert.Equal(
            ["/v1/machines?limit=3", "/v1/machines?cursor=3"],
            _api.Requests.Select(r => r.PathAndQuery));
    }

    [Fact]
    public async Task A_page_size_below_max_items_pages_and_the_last_page_asks_only_for_what_is_left()
    {
        var result = await _cli.RunAsync("machines", "list", "--limit", "2", "--max-items", "3", "--format", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var document = JsonDocument.Parse(result.StandardOutput);
        Assert.Equal(3, document.RootElement.GetArrayLength());
        Assert.Equal(["/v1/machines?limit=2", "/v1/machines?limit=1&cursor=2"], _api.Requests.Select(r => r.PathAndQuery));
        Assert.Equal("next cursor: 3\n", result.StandardError);
    }

    [Fact]
    public async Task Without_max_items_every_page_is_listed_and_no_cursor_is_printed()
    {
        var result = await _cli.RunAsync("machines", "list", "--format", "raw");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var document = JsonDocument.Parse(result.StandardOutput);
        Assert.Equal(Ids, document.RootElement.EnumerateArray().Select(m => m.GetProperty("machine_id").GetString()));
        Assert.Equal(3, _api.Requests.Count);
        Assert.Empty(result.StandardError);
    }

    [Fact]
    public async Task Transform_with_raw_output_prints_bare_strings_one_per_line()
    {
        var ids = await _cli.RunAsync("machines", "list", "--transform", "machine_id", "-r");
        var phase = await _cli.RunAsync("machines", "retrieve", Samples.MachineId, "--transform", "status.phase", "--raw-output");
        var quoted = await _cli.RunAsync("machines", "retrieve", Samples.MachineId, "--transform", "status.phase", "--format", "json");
        var missing = await _cli.RunAsync("machines", "retrieve", Samples.MachineId, "--transform", "no.such.field", "--format", "json");

        Assert.Equal(string.Join('\n', Ids) + "\n", ids.StandardOutput);
        Assert.Equal("running\n", phase.StandardOutput);
        Assert.Equal("\"running\"\n", quoted.StandardOutput);
        Assert.Equal("null\n", missing.StandardOutput);
    }

    [Fact]
    public async Task Jsonl_prints_one_compact_object_per_line()
    {
        var one = await _cli.RunAsync("machines", "retrieve", Samples.MachineId, "--format", "jsonl");
        var list = await _cli.RunAsync("machines", "list", "--format", "jsonl");

        Assert.Single(one.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(Ids, list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(MachineIdOf));
    }

    [Fact]
    public async Task The_pretty_machine_views_show_the_name_second()
    {
        var list = await _cli.RunAsync("machines", "list", "--format", "pretty");
        var one = await _cli.RunAsync("machines", "retrieve", Samples.MachineId, "--format", "pretty");

        var lines = list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^MACHINE_ID\s+NAME\s+VCPU", lines[0]);
        Assert.Matches($@"^{Ids[0]}\s+web-1\s+1\s", lines[1]);
        Assert.Matches($@"^{Ids[1]}\s+1\s", lines[2]);
        var rows = one.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("machine_id", rows[0], StringComparison.Ordinal);
        Assert.Matches(@"^name\s+web 1$", rows[1]);
    }

    [Fact]
    public async Task Debug_shows_requests_and_answers_on_stderr_with_the_key_redacted()
    {
        var result = await _cli.RunAsync("machines", "create", "--name", "web-1", "--debug", "--format", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var document = JsonDocument.Parse(result.StandardOutput);
        var stderr = result.StandardError;
        Assert.Contains($"dedalus: debug > POST {_api.BaseUrl}v1/machines\n", stderr, StringComparison.Ordinal);
        Assert.Contains("dedalus: debug >   Authorization: Bearer secret… (redacted)\n", stderr, StringComparison.Ordinal);
        Assert.Contains("dedalus: debug >   Idempotency-Key: ", stderr, StringComparison.Ordinal);
        Assert.Contains("dedalus: debug >   {\"name\":\"web-1\"}\n", stderr, StringComparison.Ordinal);
        Assert.Matches(@"dedalus: debug < 200 OK \(\d+ ms\) POST ", stderr);
        Assert.Contains("dedalus: debug <   {\"machine_id\":\"" + Ids[0] + "\"", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, stderr, StringComparison.Ordinal);
        Assert.All(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.StartsWith("dedalus: debug ", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_key_from_the_environment_never_takes_the_dev_files_org()
    {
        WriteDevFile($"DEDALUS_BASE_URL={_api.BaseUrl}\nDEDALUS_API_KEY=file-key\nDEDALUS_ORG_ID=org-file\n");

        var result = await _cli.RunAsync("machines", "retrieve", Samples.MachineId, "--format", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var request = Assert.Single(_api.Requests);
        Assert.Equal("Bearer " + Key, request.Header("Authorization"));
        Assert.Null(request.Header("X-Dedalus-Org-Id"));
    }

    [Fact]
    public async Task A_key_from_the_environment_goes_with_the_environments_org()
    {
        WriteDevFile("DEDALUS_API_KEY=file-key\nDEDALUS_ORG_ID=org-file\n");
        _cli.Environment["DEDALUS_ORG_ID"] = "org-env";

        var result = await _cli.RunAsync("machines", "retrieve", Samples.MachineId, "--format", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("org-env", Assert.Single(_api.Requests).Header("X-Dedalus-Org-Id"));
    }

    [Fact]
    public async Task The_dev_file_is_used_as_a_whole_and_the_environments_org_alone_is_not_added()
    {
        WriteDevFile($"DEDALUS_BASE_URL={_api.BaseUrl}\nDEDALUS_API_KEY=file-key\nDEDALUS_ORG_ID=org-file\n");
        _cli.Environment["DEDALUS_API_KEY"] = string.Empty;
        _cli.Environment["DEDALUS_BASE_URL"] = string.Empty;
        _cli.Environment["DEDALUS_ORG_ID"] = "org-env";

        var result = await _cli.RunAsync("machines", "retrieve", Samples.MachineId, "--format", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var request = Assert.Single(_api.Requests);
        Assert.Equal(("Bearer file-key", "org-file"), (request.Header("Authorization"), request.Header("X-Dedalus-Org-Id")));
    }

    [Fact]
    public async Task Flags_override_one_setting_each_and_a_flag_key_takes_no_org_but_its_own()
    {
        _cli.Environment["DEDALUS_ORG_ID"] = "org-env";

        var keyOnly = await _cli.RunAsync("machines", "retrieve", Samples.MachineId, "--api-key", "flag-key", "--format", "json");
        var orgOnly = await _cli.RunAsync("machines", "retrieve", Samples.MachineId, "--org-id", "org-flag", "--format", "json");

        Assert.True(keyOnly.ExitCode == 0, keyOnly.ToString());
        Assert.True(orgOnly.ExitCode == 0, orgOnly.ToString());
        var requests = _api.Requests.ToArray();
        Assert.Equal(("Bearer flag-key", null), (requests[0].Header("Authorization"), requests[0].Header("X-Dedalus-Org-Id")));
        Assert.Equal(("Bearer " + Key, "org-flag"), (requests[1].Header("Authorization"), requests[1].Header("X-Dedalus-Org-Id")));
    }

    private void WriteDevFile(string text)
    {
        var file = Path.Combine(_cli.HomePath, ".config", "dedalus", "dev.env");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, text);
    }

    private static string? MachineIdOf(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("machine_id").GetString();
    }

    private static IResult Settings(AutoresizingSettings settings) => Results.Json(settings, DedalusJsonContext.Default.AutoresizingSettings);

    private static async Task<AutoresizingSettings> Enabled(HttpRequest request) =>
        (await JsonSerializer.DeserializeAsync(request.Body, DedalusJsonContext.Default.AutoresizingSettings))!;
}
