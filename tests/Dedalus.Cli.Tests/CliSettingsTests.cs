using Dedalus.Cli.Configuration;

namespace Dedalus.Cli.Tests;

/// <summary>Issue #13, point 5: the key, its org and the base URL come from one source; flags override one setting each.</summary>
public sealed class CliSettingsTests
{
    private const string FilePath = "/home/u/.config/dedalus/dev.env";

    private static readonly Dictionary<string, string> DevFile = new()
    {
        ["DEDALUS_BASE_URL"] = "http://127.0.0.1:7070",
        ["DEDALUS_API_KEY"] = "file-key",
        ["DEDALUS_ORG_ID"] = "org-file",
    };

    [Fact]
    public void A_key_in_the_environment_takes_nothing_from_the_file_and_the_url_defaults_to_the_public_api()
    {
        var settings = Resolve(new() { ["DEDALUS_API_KEY"] = "env-key" }, DevFile);

        Assert.Equal(("env-key", SettingSource.Environment, "DEDALUS_API_KEY"), (settings.ApiKey!.Value, settings.ApiKey.Source, settings.ApiKey.Origin));
        Assert.Null(settings.OrgId);
        Assert.Null(settings.BaseUrl);
        Assert.Equal(Client.DedalusClientOptions.DefaultBaseUrl, CliSettings.Require(settings).BaseUrl);
        Assert.False(CliSettings.Require(settings).ReadEnvironment);
    }

    [Fact]
    public void An_x_api_key_in_the_environment_also_makes_the_environment_the_source()
    {
        var settings = Resolve(new() { ["DEDALUS_X_API_KEY"] = "x-key", ["DEDALUS_ORG_ID"] = "org-env", ["DEDALUS_BASE_URL"] = "http://h:1" }, DevFile);

        Assert.Equal((null, "x-key", "org-env", "http://h:1"), (settings.ApiKey?.Value, settings.XApiKey?.Value, settings.OrgId?.Value, settings.BaseUrl?.Value));
    }

    [Fact]
    public void Without_a_key_in_the_environment_the_file_is_used_whole_and_the_environments_org_and_url_are_not()
    {
        var settings = Resolve(new() { ["DEDALUS_ORG_ID"] = "org-env", ["DEDALUS_BASE_URL"] = "http://elsewhere:1" }, DevFile);

        Assert.Equal(("file-key", "org-file", "http://127.0.0.1:7070"), (settings.ApiKey?.Value, settings.OrgId?.Value, settings.BaseUrl?.Value));
        Assert.Equal($"DEDALUS_ORG_ID in {FilePath}", settings.OrgId!.Origin);
    }

    [Fact]
    public void Flags_override_one_setting_each_and_a_flag_key_brings_no_org()
    {
        var orgFlag = Resolve(new() { ["DEDALUS_API_KEY"] = "env-key", ["DEDALUS_ORG_ID"] = "org-env" }, DevFile, orgId: "org-flag");
        var keyFlag = Resolve(new() { ["DEDALUS_ORG_ID"] = "org-env" }, DevFile, apiKey: "flag-key");
        var urlFlag = Resolve([], DevFile, baseUrl: "http://flag:1");

        Assert.Equal(("env-key", "org-flag"), (orgFlag.ApiKey?.Value, orgFlag.OrgId?.Value));
        Assert.Equal(("flag-key", null, "http://127.0.0.1:7070"), (keyFlag.ApiKey?.Value, keyFlag.OrgId?.Value, keyFlag.BaseUrl?.Value));
        Assert.Equal(("file-key", "org-file", "http://flag:1"), (urlFlag.ApiKey?.Value, urlFlag.OrgId?.Value, urlFlag.BaseUrl?.Value));
    }

    [Fact]
    public void With_no_key_anywhere_the_url_is_taken_from_where_it_is_set_and_the_client_is_refused()
    {
        var settings = Resolve(new() { ["DEDALUS_BASE_URL"] = "http://h:1" }, null);

        Assert.Equal((null, "http://h:1", false), (settings.ApiKey, settings.BaseUrl?.Value, settings.CredentialsFileRead));
        Assert.Equal(ExitCodes.Auth, Assert.Throws<CliException>(() => CliSettings.Require(settings)).ExitCode);
    }

    [Theory]
    [InlineData("dk_0123456789", "dk_012…")]
    [InlineData("abc", "***…")]
    public void A_key_is_shown_by_its_first_six_characters_only(string key, string shown) =>
        Assert.Equal(shown, ResolvedSettings.Redact(key));

    [Fact]
    public void Debug_bodies_hide_environment_values_and_tokens()
    {
        var shown = DebugLog.RedactBody("""{"command":["env"],"env":{"API_TOKEN":"hunter2","CI":"1"},"nested":{"access_token":"t0k"}}""");

        Assert.DoesNotContain("hunter2", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("t0k", shown, StringComparison.Ordinal);
        Assert.Contains("API_TOKEN", shown, StringComparison.Ordinal);
        Assert.Equal("Bearer secret… (redacted)", DebugLog.RedactHeader("Bearer secret-key-0123"));
    }

    private static ResolvedSettings Resolve(
        Dictionary<string, string> environment, Dictionary<string, string>? file, string? baseUrl = null, string? apiKey = null, string? orgId = null) =>
        CliSettings.Resolve(baseUrl, apiKey, orgId, name => environment.GetValueOrDefault(name), FilePath, _ => file);
}
