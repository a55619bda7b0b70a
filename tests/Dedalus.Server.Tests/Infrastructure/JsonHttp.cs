using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>One JSON request that must succeed, for tests that drive a server through a plain <see cref="HttpClient"/>.</summary>
public static class JsonHttp
{
    /// <summary>Sends <paramref name="json"/> (when given), asserts a 2xx answer (showing the body otherwise) and reads it as <typeparamref name="T"/>.</summary>
    public static async Task<T> SendJsonAsync<T>(this HttpClient http, HttpMethod method, string path, string? json, JsonTypeInfo<T> type)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var response = await http.SendAsync(request, cts.Token);
        var body = await response.Content.ReadAsStringAsync(cts.Token);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {body}");
        return JsonSerializer.Deserialize(body, type)!;
    }
}
