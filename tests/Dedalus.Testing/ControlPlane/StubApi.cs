using System.Collections.Concurrent;
using Dedalus.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dedalus.Testing.ControlPlane;

/// <summary>
/// A tiny real HTTP server (Kestrel on 127.0.0.1:0) whose routes a test defines; records every request.
/// Used to test client logic (retries, paging, errors, the CLI's messages) that a real server cannot be made to exercise on demand.
/// </summary>
public sealed class StubApi : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StubApi(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public static async Task<StubApi> StartAsync(Action<WebApplication> routes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        StubApi? stub = null;
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            context.Request.Body.Position = 0;
            stub!.Requests.Enqueue(new RecordedRequest(
                context.Request.Method,
                context.Request.Path + context.Request.QueryString,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body));
            await next(context);
        });
        routes(app);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StartAsync(cts.Token);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        stub = new StubApi(app, new Uri(address));
        return stub;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }

    /// <summary>A DCS error envelope; <paramref name="resource"/> and <paramref name="field"/> fill <c>details</c> as the server does.</summary>
    public static IResult Error(int status, string code, string message, bool retryable = false, long? retryAfterMs = null, string? resource = null, string? field = null)
    {
        var details = new Dictionary<string, string>();
        if (resource is not null)
        {
            details[ErrorDetailKeys.Resource] = resource;
        }

        if (field is not null)
        {
            details[ErrorDetailKeys.Field] = field;
        }

        return Results.Json(
            new Dictionary<string, object?>
            {
                ["error_code"] = code,
                ["message"] = message,
                ["retryable"] = retryable,
                ["retry_after_ms"] = retryAfterMs,
                ["details"] = details.Count > 0 ? details : null,
            },
            statusCode: status);
    }
}
