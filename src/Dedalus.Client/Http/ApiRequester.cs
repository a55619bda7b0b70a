using System.Globalization;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Dedalus.Contracts;

namespace Dedalus.Client.Http;

/// <summary>
/// Sends one logical API call: authentication headers, one <c>Idempotency-Key</c> for all attempts of a
/// mutation, retries with backoff, and mapping of error answers to typed exceptions.
/// </summary>
internal sealed class ApiRequester
{
    private static readonly string Version =
        typeof(ApiRequester).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private readonly HttpClient _httpClient;
    private readonly DedalusClientOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Uri _baseUrl;

    public ApiRequester(HttpClient httpClient, DedalusClientOptions options)
    {
        _httpClient = httpClient;
        _options = options;
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        var baseUrl = options.BaseUrl!.ToString();
        _baseUrl = new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/", UriKind.Absolute);
    }

    public TimeProvider TimeProvider => _timeProvider;

    public DedalusClientOptions Options => _options;

    public async Task<TResponse> SendAsync<TRequest, TResponse>(
        HttpMethod method,
        string path,
        TRequest body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, requestType);
        using var response = await SendWithRetriesAsync(method, path, bytes, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, responseType, cancellationToken).ConfigureAwait(false);
    }

    public async Task<TResponse> SendAsync<TResponse>(
        HttpMethod method,
        string path,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        using var response = await SendWithRetriesAsync(method, path, null, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, responseType, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens a streaming GET (server-sent events); the caller disposes the response.</summary>
    public Task<HttpResponseMessage> OpenStreamAsync(string path, string? lastEventId, CancellationToken cancellationToken) =>
        SendWithRetriesAsync(HttpMethod.Get, path, null, lastEventId, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    /// <summary>
    /// Opens a streaming GET outside the API (the log-read service named by a log token's <c>base_url</c>): the one
    /// bearer token given is the only credential sent, never the API key, the org or an idempotency key. One attempt;
    /// an error answer becomes the typed exception. The caller disposes the response.
    /// </summary>
    public async Task<HttpResponseMessage> OpenBearerStreamAsync(Uri uri, string bearerToken, string accept, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Dedalus-CSharp", Version));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attemptCts.CancelAfter(_options.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await _httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DedalusConnectionException($"GET {uri.GetLeftPart(UriPartial.Path)} timed out after {_options.Timeout.TotalSeconds:0.#} s", isTimeout: true, e);
        }
        catch (HttpRequestException e)
        {
            throw new DedalusConnectionException($"cannot reach {uri.GetLeftPart(UriPartial.Authority)} ({e.Message}): the log-read service named by the token's base_url", isTimeout: false, e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var envelope = await ReadErrorAsync(response, attemptCts.Token).ConfigureAwait(false);
            throw ErrorMapper.ToException(response.StatusCode, envelope);
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                return await JsonSerializer.DeserializeAsync(stream, type, cancellationToken).ConfigureAwait(false)
                    ?? throw new DedalusException($"the server answered {(int)response.StatusCode} with an empty body; check that the base URL points at a Dedalus API");
            }
        }
        catch (JsonException e)
        {
            throw new DedalusException($"the server answered {(int)response.StatusCode} with a body that is not a Dedalus API answer ({e.Message}); check the base URL", e);
        }
    }

    private async Task<HttpResponseMessage> SendWithRetriesAsync(
        HttpMethod method,
        string path,
        byte[]? body,
        string? lastEventId,
        HttpCompletionOption completion,
        CancellationToken cancellationToken)
    {
        var idempotencyKey = method == HttpMethod.Get ? null : "dedalus-csharp-" + Guid.NewGuid().ToString("D");
        var uri = new Uri(_baseUrl, path.TrimStart('/'));
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var request = CreateRequest(method, uri, body, idempotencyKey, lastEventId, attempt, completion);
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptCts.CancelAfter(_options.Timeout);
            HttpResponseMessage response;
            try
            {
                response = await _httpClient.SendAsync(request, completion, attemptCts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                if (attempt < _options.MaxRetries)
                {
                    await DelayAsync(RetryPolicy.Backoff(attempt), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                throw new DedalusConnectionException(
                    $"{method} {uri} timed out after {_options.Timeout.TotalSeconds:0.#} s ({attempt + 1} attempts); check the server is up and reachable",
                    isTimeout: true,
                    e);
            }
            catch (HttpRequestException e)
            {
                if (attempt < _options.MaxRetries)
                {
                    await DelayAsync(RetryPolicy.Backoff(attempt), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                throw new DedalusConnectionException(
                    $"cannot reach {_baseUrl.GetLeftPart(UriPartial.Authority)} ({e.Message}); check DEDALUS_BASE_URL or --base-url and that the server is running",
                    isTimeout: false,
                    e);
            }

            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            using (response)
            {
                var envelope = await ReadErrorAsync(response, attemptCts.Token).ConfigureAwait(false);
                if (attempt < _options.MaxRetries && RetryPolicy.ShouldRetry(response, envelope))
                {
                    await DelayAsync(RetryPolicy.Delay(response, envelope, attempt), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                throw ErrorMapper.ToException(response.StatusCode, envelope);
            }
        }
    }

    private HttpRequestMessage CreateRequest(
        HttpMethod method,
        Uri uri,
        byte[]? body,
        string? idempotencyKey,
        string? lastEventId,
        int attempt,
        HttpCompletionOption completion)
    {
        var request = new HttpRequestMessage(method, uri);
        var streaming = completion == HttpCompletionOption.ResponseHeadersRead;
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(streaming ? "text/event-stream" : "application/json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Dedalus-CSharp", Version));
        if (_options.UserAgent is { Length: > 0 } userAgent && ProductInfoHeaderValue.TryParse(userAgent, out var product))
        {
            request.Headers.UserAgent.Add(product);
        }

        if (_options.ApiKey is { } apiKey)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        if (_options.XApiKey is { } xApiKey)
        {
            request.Headers.TryAddWithoutValidation(DedalusHeaders.ApiKey, xApiKey);
        }

        if (_options.OrgId is { } orgId)
        {
            request.Headers.TryAddWithoutValidation(DedalusHeaders.OrgId, orgId);
        }

        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation(DedalusHeaders.IdempotencyKey, idempotencyKey);
        }

        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        request.Headers.TryAddWithoutValidation("X-Stainless-Retry-Count", attempt.ToString(CultureInfo.InvariantCulture));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        return request;
    }

    private static async Task<ErrorEnvelope?> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            return null;
        }

        return ErrorMapper.ParseBody(text);
    }

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(delay, _timeProvider, cancellationToken);
}
