namespace Dedalus.Client;

/// <summary>
/// Settings of a <see cref="DedalusClient"/>. Every credential left <see langword="null"/> falls back to
/// the environment variable the official clients read (<c>DEDALUS_BASE_URL</c>, <c>DEDALUS_API_KEY</c>,
/// <c>DEDALUS_X_API_KEY</c>, <c>DEDALUS_ORG_ID</c>).
/// </summary>
public sealed record DedalusClientOptions
{
    /// <summary>The public Dedalus API, used when neither <see cref="BaseUrl"/> nor <c>DEDALUS_BASE_URL</c> is set.</summary>
    public static readonly Uri DefaultBaseUrl = new("https://dcs.dedaluslabs.ai");

    /// <summary>API root (without <c>/v1</c>); <c>DEDALUS_BASE_URL</c> when <see langword="null"/>.</summary>
    public Uri? BaseUrl { get; init; }

    /// <summary>API key sent as <c>Authorization: Bearer</c>; <c>DEDALUS_API_KEY</c> when <see langword="null"/>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>API key sent as <c>x-api-key</c>; <c>DEDALUS_X_API_KEY</c> when <see langword="null"/>.</summary>
    public string? XApiKey { get; init; }

    /// <summary>Org id sent as <c>X-Dedalus-Org-Id</c>; <c>DEDALUS_ORG_ID</c> when <see langword="null"/>.</summary>
    public string? OrgId { get; init; }

    /// <summary>How many times a failed request is retried (connection errors, 408, 429, 5xx, retryable 409). Default 2.</summary>
    public int MaxRetries { get; init; } = 2;

    /// <summary>Time limit of one attempt, up to the response headers for streams. Default 60 seconds.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Clock used for retry and poll delays; <see cref="TimeProvider.System"/> when <see langword="null"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Extra <c>User-Agent</c> product token, e.g. <c>dedalus-cli/1.0</c>.</summary>
    public string? UserAgent { get; init; }

    /// <summary>
    /// Whether unset settings are taken from the environment variables (default <see langword="true"/>). A caller that
    /// resolved every setting itself (the <c>dedalus</c> CLI, which takes the key, the org and the base URL from one
    /// source) sets it to <see langword="false"/>, so that an org id in the environment is never paired with a key
    /// from elsewhere; unset values then stay unset (the base URL falls back to <see cref="DefaultBaseUrl"/>).
    /// </summary>
    public bool ReadEnvironment { get; init; } = true;

    /// <summary>Options read entirely from the environment variables.</summary>
    /// <returns>Options with the environment's values filled in.</returns>
    public static DedalusClientOptions FromEnvironment() => new DedalusClientOptions().WithEnvironmentDefaults();

    /// <summary>A copy where every unset credential and the base URL are taken from the environment.</summary>
    /// <returns>The completed options.</returns>
    public DedalusClientOptions WithEnvironmentDefaults()
    {
        if (!ReadEnvironment)
        {
            return this with { BaseUrl = BaseUrl ?? DefaultBaseUrl };
        }

        var baseUrl = BaseUrl;
        if (baseUrl is null && Environment.GetEnvironmentVariable("DEDALUS_BASE_URL") is { Length: > 0 } fromEnv)
        {
            baseUrl = new Uri(fromEnv, UriKind.Absolute);
        }

        return this with
        {
            BaseUrl = baseUrl ?? DefaultBaseUrl,
            ApiKey = ApiKey ?? NonEmpty(Environment.GetEnvironmentVariable("DEDALUS_API_KEY")),
            XApiKey = XApiKey ?? NonEmpty(Environment.GetEnvironmentVariable("DEDALUS_X_API_KEY")),
            OrgId = OrgId ?? NonEmpty(Environment.GetEnvironmentVariable("DEDALUS_ORG_ID")),
        };
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
