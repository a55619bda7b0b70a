using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Dedalus.Cli.Configuration;
using Dedalus.Client;
using Dedalus.Contracts;

namespace Dedalus.Cli.Commands;

/// <summary>
/// <c>dedalus doctor [MACHINE]</c>: which credentials were found and where, the base URL, whether the server answers and
/// is ready, its clock, whether the key is accepted, and optionally a machine's phase. One line per check (<c>ok</c>,
/// <c>FAIL</c>, or <c>info</c> for what is only shown); exit 0 when nothing failed, 1 otherwise.
/// </summary>
internal static class DoctorCommand
{
    /// <summary>A clock further off than this makes certificate validity windows unreliable.</summary>
    private static readonly TimeSpan MaxSkew = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(10);

    private enum Outcome
    {
        Ok,
        Fail,
        Info,
    }

    private sealed record Check(string Name, Outcome Outcome, string Detail);

    public static Command Create(GlobalOptions global)
    {
        var target = new MachineTarget(required: false);
        var command = new Command("doctor", "Check the setup: credentials and where they came from, the server, its clock, the key, a machine").WithHelp("""
            Examples:
              dedalus doctor
              dedalus doctor <machine_id>          also the machine's phase
              dedalus doctor --format json      {"ok": ..., "checks": [{"name", "ok", "detail"}, ...]}
            """);
        target.AddTo(command);
        command.SetAction((parseResult, _) => CommandRunner.RunAsync(async ct =>
        {
            var checks = await RunChecksAsync(global, parseResult, target.Find(parseResult), ct);
            Print(global, parseResult, checks);
            return checks.Any(c => c.Outcome == Outcome.Fail) ? ExitCodes.Error : ExitCodes.Ok;
        }));
        return command;
    }

    private static async Task<List<Check>> RunChecksAsync(GlobalOptions global, ParseResult parseResult, string? machine, CancellationToken cancellationToken)
    {
        var checks = new List<Check>();
        var settings = global.ResolveSettings(parseResult);
        checks.Add(Credentials(settings));
        checks.AddRange(Ignored(settings));

        Uri baseUrl;
        try
        {
            baseUrl = CliSettings.ParseBaseUrl(settings.BaseUrl);
            checks.Add(new Check("base_url", Outcome.Ok, $"{baseUrl} ({(settings.BaseUrl is { } b ? "from " + b.Origin : "the default: no DEDALUS_BASE_URL where the key came from")})"));
        }
        catch (CliException e)
        {
            checks.Add(new Check("base_url", Outcome.Fail, e.Message));
            return checks;
        }

        var http = global.Http(parseResult, new DedalusClientOptions { BaseUrl = baseUrl });
        var health = await GetAsync(http, new Uri(baseUrl, "healthz"), cancellationToken);
        checks.Add(health.Response is { } h
            ? h.IsSuccessStatusCode
                ? new Check("server", Outcome.Ok, $"GET /healthz answered HTTP {(int)h.StatusCode}")
                : new Check("server", Outcome.Fail, $"GET /healthz answered HTTP {(int)h.StatusCode}: is {baseUrl} a Dedalus server? check the base URL")
            : new Check("server", Outcome.Fail, $"cannot reach {baseUrl.GetLeftPart(UriPartial.Authority)} ({health.Error}): is the server running? check the base URL"));
        if (health.Response is { } answered)
        {
            var ready = await GetAsync(http, new Uri(baseUrl, "readyz"), cancellationToken);
            checks.Add(ready.Response is { IsSuccessStatusCode: true } r
                ? new Check("ready", Outcome.Ok, $"GET /readyz answered HTTP {(int)r.StatusCode}")
                : new Check("ready", Outcome.Fail, ready.Response is { } notReady
                    ? $"GET /readyz answered HTTP {(int)notReady.StatusCode}{await ReasonAsync(notReady, cancellationToken)}: the server is starting or its store is unavailable"
                    : $"GET /readyz failed ({ready.Error})"));
            checks.Add(Clock(answered, health.SentAt, health.ReceivedAt));
            checks.Add(Version(answered));
            ready.Response?.Dispose();
            answered.Dispose();
        }

        if (settings.ApiKey is null && settings.XApiKey is null)
        {
            return checks;
        }

        var options = CliSettings.Require(settings) with { BaseUrl = baseUrl, MaxRetries = 0, Timeout = CheckTimeout };
        using var client = new DedalusClient(options, http);
        try
        {
            var page = await client.Machines.ListPageAsync(limit: 1, cancellationToken: cancellationToken);
            checks.Add(new Check("api_key", Outcome.Ok, $"GET /v1/machines?limit=1 accepted the key ({(page.Items?.Count ?? 0) switch { 0 => "no machines yet", _ => "machines visible" }})"));
        }
        catch (DedalusApiException e) when (e.ErrorCode == ErrorCodes.AuthOrgMismatch)
        {
            checks.Add(new Check("api_key", Outcome.Fail,
                $"HTTP 403 AUTH_ORG_MISMATCH: the org id ({settings.OrgId?.Origin ?? "none"}) is not the key's org ({Origin(settings)}): pass --org-id, or unset the org id"));
        }
        catch (DedalusApiException e)
        {
            checks.Add(new Check("api_key", Outcome.Fail, $"GET /v1/machines?limit=1: {e.Message.TrimEnd('.')} (HTTP {(int)e.StatusCode} {e.ErrorCode}) with the key {Origin(settings)}"));
        }
        catch (DedalusException e)
        {
            checks.Add(new Check("api_key", Outcome.Fail, "GET /v1/machines?limit=1: " + e.Message));
        }

        if (machine is not null)
        {
            checks.Add(await MachineAsync(client, machine, cancellationToken));
        }

        return checks;
    }

    private static Check Credentials(ResolvedSettings settings)
    {
        var key = settings.ApiKey ?? settings.XApiKey;
        if (key is null)
        {
            return new Check("credentials", Outcome.Fail,
                $"no API key: set DEDALUS_API_KEY (or DEDALUS_X_API_KEY), pass --api-key, or run `dedalus-server --dev`, which writes {settings.CredentialsFile}" +
                (settings.CredentialsFileRead ? " (read, but it has no DEDALUS_API_KEY)" : " (not found)"));
        }

        var header = settings.ApiKey is not null ? "Authorization: Bearer" : "x-api-key";
        var org = settings.OrgId is { } o ? $"org {o.Value} from {o.Origin}" : "no org id (the key's own org)";
        return new Check("credentials", Outcome.Ok, $"key {ResolvedSettings.Redact(key.Value)} from {key.Origin}, sent as {header}; {org}");
    }

    /// <summary>Settings found but not used, because the key came from elsewhere: the usual source of a mismatch.</summary>
    private static IEnumerable<Check> Ignored(ResolvedSettings settings)
    {
        var keySource = (settings.ApiKey ?? settings.XApiKey)?.Source;
        if (keySource == SettingSource.Environment && settings.CredentialsFileRead)
        {
            yield return new Check("unused_file", Outcome.Info, $"{settings.CredentialsFile} not used: the environment has a key, so key, org and URL come from the environment");
        }

        if (keySource != SettingSource.Environment && settings.OrgId?.Source != SettingSource.Environment
            && Environment.GetEnvironmentVariable(CliSettings.OrgIdVariable) is { Length: > 0 })
        {
            yield return new Check("unused_org", Outcome.Info, $"{CliSettings.OrgIdVariable} in the environment not used: the key does not come from the environment");
        }
    }

    private static string Origin(ResolvedSettings settings) => (settings.ApiKey ?? settings.XApiKey)?.Origin ?? "none";

    private static Check Clock(HttpResponseMessage response, DateTimeOffset sentAt, DateTimeOffset receivedAt)
    {
        if (response.Headers.Date is not { } date)
        {
            return new Check("clock", Outcome.Info, "the server sent no Date header: clock skew unknown");
        }

        // The Date header has whole seconds: compare with the middle of the exchange, and call a second or less no skew.
        var local = sentAt + ((receivedAt - sentAt) / 2);
        var skew = date - local;
        var seconds = Math.Abs(skew.TotalSeconds);
        var text = seconds <= 1
            ? "in step with the server (Date header, to the second)"
            : $"this host's clock is {seconds.ToString("0", CultureInfo.InvariantCulture)} s {(skew > TimeSpan.Zero ? "behind" : "ahead of")} the server's";
        return Math.Abs(skew.Ticks) > MaxSkew.Ticks
            ? new Check("clock", Outcome.Fail, text + ": certificate validity checks may fail; sync the clock (NTP)")
            : new Check("clock", Outcome.Ok, text);
    }

    private static Check Version(HttpResponseMessage response) =>
        response.Headers.Server.Count > 0
            ? new Check("server_version", Outcome.Info, "Server: " + response.Headers.Server)
            : new Check("server_version", Outcome.Info, "not exposed by this server (no Server header, no version endpoint)");

    private static async Task<Check> MachineAsync(DedalusClient client, string machine, CancellationToken cancellationToken)
    {
        try
        {
            var m = await client.Machines.RetrieveAsync(machine, cancellationToken);
            var detail = $"{m.MachineId}{(m.Name is { } n ? $" ({n})" : string.Empty)}: phase {m.Status.Phase}, desired {m.DesiredState}" +
                (m.Status.LastError is { Length: > 0 } error ? $", last error: {error}" : string.Empty);
            return m.Status.Phase is MachinePhases.Failed or MachinePhases.Destroyed
                ? new Check("machine", Outcome.Fail, detail)
                : new Check("machine", Outcome.Ok, detail);
        }
        catch (DedalusException e)
        {
            return new Check("machine", Outcome.Fail, $"{machine}: {e.Message.TrimEnd('.')}");
        }
    }

    private static async Task<(HttpResponseMessage? Response, string? Error, DateTimeOffset SentAt, DateTimeOffset ReceivedAt)> GetAsync(
        HttpClient http, Uri uri, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CheckTimeout);
        var sentAt = DateTimeOffset.UtcNow;
        try
        {
            var response = await http.GetAsync(uri, timeout.Token);
            return (response, null, sentAt, DateTimeOffset.UtcNow);
        }
        catch (HttpRequestException e)
        {
            return (null, e.Message, sentAt, DateTimeOffset.UtcNow);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"no answer within {CheckTimeout.TotalSeconds:0} s", sentAt, DateTimeOffset.UtcNow);
        }
    }

    /// <summary>The message of a DCS error body, as ": message".</summary>
    private static async Task<string> ReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String ? " (" + message.GetString() + ")" : string.Empty;
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException)
        {
            return string.Empty;
        }
    }

    private static void Print(GlobalOptions global, ParseResult parseResult, List<Check> checks)
    {
        var failed = checks.Count(c => c.Outcome == Outcome.Fail);
        var output = global.CreateOutput(parseResult);
        if (output.Format == Output.OutputFormat.Pretty)
        {
            var width = checks.Max(c => c.Name.Length);
            foreach (var check in checks)
            {
                var mark = check.Outcome switch { Outcome.Ok => "ok  ", Outcome.Fail => "FAIL", _ => "info" };
                Console.Out.WriteLine($"{mark}  {check.Name.PadRight(width)}  {check.Detail}");
            }

            Console.Out.WriteLine(failed == 0 ? "all checks passed" : $"{failed} check{(failed == 1 ? string.Empty : "s")} failed");
            return;
        }

        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteBoolean("ok", failed == 0);
            writer.WriteStartArray("checks");
            foreach (var check in checks)
            {
                writer.WriteStartObject();
                writer.WriteString("name", check.Name);
                writer.WriteBoolean("ok", check.Outcome != Outcome.Fail);
                writer.WriteBoolean("info", check.Outcome == Outcome.Info);
                writer.WriteString("detail", check.Detail);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(stream.ToArray());
        output.Write(document.RootElement);
    }
}
