namespace Dedalus.Cli.Configuration;

/// <summary>Where a setting came from.</summary>
internal enum SettingSource
{
    Flag,
    Environment,
    File,
}

/// <summary>One setting's value and its origin, in words a user can act on (<c>--api-key</c>, <c>DEDALUS_ORG_ID</c>, <c>DEDALUS_API_KEY in /path/dev.env</c>).</summary>
internal sealed record Setting(string Value, SettingSource Source, string Origin);

/// <summary>The settings <see cref="CliSettings.Resolve(string?, string?, string?)"/> chose; null where none was found.</summary>
internal sealed record ResolvedSettings(
    Setting? ApiKey,
    Setting? XApiKey,
    Setting? OrgId,
    Setting? BaseUrl,
    string CredentialsFile,
    bool CredentialsFileRead)
{
    /// <summary>A key as it may be shown: its first 6 characters and an ellipsis (all of it is never printed).</summary>
    public static string Redact(string key) => key.Length <= 6 ? new string('*', key.Length) + "…" : key[..6] + "…";
}
