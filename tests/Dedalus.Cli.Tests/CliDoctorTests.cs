using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Cli.Tests;

/// <summary><c>dedalus doctor</c>: one line per check, where each setting came from, exit 0 only when nothing failed.</summary>
public sealed class CliDoctorTests : IAsyncLifetime, IDisposable
{
    private const string Key = "doctor-key-0123456789";
    private const string FailedMachine = "dm-00000000-0000-4000-8000-0000000000ff";

    private readonly CliProgram _cli = new();
    private StubApi _api = null!;

    public async Task InitializeAsync()
    {
        _api = await StubApi.StartAsync(app =>
        {
            app.MapGet("/healthz", () => Results.Text("ok"));
            app.MapGet("/readyz", () => Results.Text("ready"));
            app.MapGet("/v1/machines", (HttpRequest request) =>
                request.Headers.Authorization != "Bearer " + Key ? StubApi.Error(401, ErrorCodes.AuthInvalid, "API key is not valid")
                : request.Headers["X-Dedalus-Org-Id"] is { Count: > 0 } org && org != "org-good" ? StubApi.Error(403, ErrorCodes.AuthOrgMismatch, "org mismatch")
                : Wire.Json(new MachineList([Samples.Machine()])));
            app.MapGet("/v1/machines/{machine}", (string machine) => machine == FailedMachine
                ? Wire.Json(Samples.Machine(FailedMachine, MachinePhases.Failed) with { Status = Samples.Machine().Status with { Phase = MachinePhases.Failed, LastError = "disk on fire" } })
                : Wire.Json(Samples.Machine() with { Name = "web-1" }));
        });
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task A_good_setup_passes_every_check_and_names_where_the_key_came_from()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = _api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = Key;

        var result = await _cli.RunAsync("doctor", "web-1", "--format", "pretty");

        Assert.True(result.ExitCode == 0, result.ToString());
        var output = result.StandardOutput;
        Assert.Matches(@"(?m)^ok    credentials +key doctor… from DEDALUS_API_KEY, sent as Authorization: Bearer; no org id", output);
        Assert.Matches($@"(?m)^ok    base_url +{_api.BaseUrl} \(from DEDALUS_BASE_URL\)$", output);
        Assert.Matches(@"(?m)^ok    server +GET /healthz answered HTTP 200$", output);
        Assert.Matches(@"(?m)^ok    ready +GET /readyz answered HTTP 200$", output);
        Assert.Matches(@"(?m)^ok    clock +", output);
        Assert.Matches(@"(?m)^info  server_version +(Server: Kestrel|not exposed)", output);
        Assert.Matches(@"(?m)^ok    api_key +GET /v1/machines\?limit=1 accepted the key", output);
        Assert.Matches(@"(?m)^ok    machine +" + Samples.MachineId + @" \(web-1\): phase running", output);
        Assert.EndsWith("all checks passed\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_org_from_another_source_is_shown_and_a_mismatch_fails_with_exit_1()
    {
        var file = Path.Combine(_cli.HomePath, ".config", "dedalus", "dev.env");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, $"DEDALUS_BASE_URL={_api.BaseUrl}\nDEDALUS_API_KEY={Key}\nDEDALUS_ORG_ID=org-bad\n");

        var result = await _cli.RunAsync("doctor", "--format", "json");

        Assert.True(result.ExitCode == 1, result.ToString());
        using var document = JsonDocument.Parse(result.StandardOutput);
        Assert.False(document.RootElement.GetProperty("ok").GetBoolean());
        var checks = document.RootElement.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c);
        Assert.Contains($"from DEDALUS_API_KEY in {file}", checks["credentials"].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains($"org org-bad from DEDALUS_ORG_ID in {file}", checks["credentials"].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(checks["api_key"].GetProperty("ok").GetBoolean());
        Assert.Contains("AUTH_ORG_MISMATCH", checks["api_key"].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(checks["server"].GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task No_key_fails_the_credentials_check_and_still_checks_the_server()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = _api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_ORG_ID"] = "org-good";

        var result = await _cli.RunAsync("doctor", "--format", "pretty");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Matches(@"(?m)^FAIL  credentials +no API key: set DEDALUS_API_KEY", result.StandardOutput);
        Assert.Matches(@"(?m)^ok    server ", result.StandardOutput);
        Assert.DoesNotContain("api_key", result.StandardOutput, StringComparison.Ordinal);
        Assert.EndsWith("1 check failed\n", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_machine_and_an_unreachable_server_fail()
    {
        _cli.Environment["DEDALUS_BASE_URL"] = _api.BaseUrl.ToString();
        _cli.Environment["DEDALUS_API_KEY"] = Key;
        var failed = await _cli.RunAsync("doctor", "--machine-id", FailedMachine, "--format", "pretty");
        _cli.Environment["DEDALUS_BASE_URL"] = $"http://127.0.0.1:{Dedalus.Testing.FreePort.Next()}";
        var unreachable = await _cli.RunAsync("doctor", "--format", "pretty");

        Assert.True(failed.ExitCode == 1, failed.ToString());
        Assert.Matches(@"(?m)^FAIL  machine +" + FailedMachine + ": phase failed, desired running, last error: disk on fire$", failed.StandardOutput);
        Assert.True(unreachable.ExitCode == 1, unreachable.ToString());
        Assert.Matches(@"(?m)^FAIL  server +cannot reach http://127\.0\.0\.1:\d+ ", unreachable.StandardOutput);
    }
}
