using System.Security.Cryptography;
using System.Text;
using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Dedalus.Server.Store;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Http;

/// <summary>
/// Honours <c>Idempotency-Key</c> on every mutation: the first request with a key runs and its answer
/// (status, ETag, storage operation id, content type, body) is stored per org and key; a repeat with the same request replays it, a repeat with
/// another request is 409 <c>IDEMPOTENCY_KEY_REUSED</c>, and a repeat while the first still runs is 429.
/// Only a success is stored: a refusal (any 4xx, 5xx or exception) changed nothing, so it releases the key and a retry
/// runs afresh (after the operator raised a quota, say) and answers with its own headers (<c>x-should-retry</c>).
/// </summary>
public sealed class IdempotencyMiddleware(RequestDelegate next, IStore store, TimeProvider timeProvider)
{
    public const string ReplayedHeader = "Idempotent-Replayed";

    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)
            || !context.Request.Headers.TryGetValue(DedalusHeaders.IdempotencyKey, out var keys)
            || CallerOrg.TryGet(context) is not { } orgId)
        {
            await next(context);
            return;
        }

        var key = keys[0] ?? string.Empty;
        if (key.Length is 0 or > 255 || keys.Count > 1)
        {
            throw DomainException.InvalidRequest($"{DedalusHeaders.IdempotencyKey} must be one value of 1 to 255 characters", DedalusHeaders.IdempotencyKey);
        }

        // Echoed on the answer, errors and replays included (the contract's response header).
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[DedalusHeaders.IdempotencyKey] = key;
            return Task.CompletedTask;
        });
        var body = await RequestBody.ReadBytesAsync(context);
        var hash = RequestHash(method, context.Request.Path.Value ?? string.Empty, body.Span);
        var existing = await store.TryBeginIdempotentAsync(orgId, key, hash, timeProvider.GetUtcNow(), context.RequestAborted);
        if (existing is not null)
        {
            await AnswerRepeatAsync(context, existing, hash);
            return;
        }

        var original = context.Response.Body;
        using var capture = new MemoryStream();
        context.Response.Body = capture;
        var completed = false;
        try
        {
            await next(context);
            var status = context.Response.StatusCode;
            if (status < StatusCodes.Status400BadRequest)
            {
                await store.CompleteIdempotentAsync(
                    orgId, key, status, context.Response.Headers.ETag.ToString() is { Length: > 0 } etag ? etag : null,
                    context.Response.ContentType, capture.ToArray(),
                    context.Response.Headers[DedalusHeaders.StorageOperationId].ToString() is { Length: > 0 } operationId ? operationId : null,
                    CancellationToken.None);
                completed = true;
            }
        }
        finally
        {
            context.Response.Body = original;
            if (!completed)
            {
                await store.AbandonIdempotentAsync(orgId, key, CancellationToken.None);
            }
        }

        capture.Position = 0;
        await capture.CopyToAsync(original, context.RequestAborted);
    }

    private static async Task AnswerRepeatAsync(HttpContext context, IdempotencyRecord existing, string hash)
    {
        if (!string.Equals(existing.RequestHash, hash, StringComparison.Ordinal))
        {
            throw new DomainException(
                ErrorKind.IdempotencyKeyReused,
                "this idempotency key was used with a different request; use a new key",
                new Dictionary<string, string>
                {
                    ["expected_request_hash"] = existing.RequestHash,
                    ["provided_request_hash"] = hash,
                });
        }

        if (!existing.Completed)
        {
            throw new DomainException(ErrorKind.Busy, "idempotency key is in-flight: the first request with it has not finished");
        }

        context.Response.StatusCode = existing.StatusCode;
        if (existing.ETag is not null)
        {
            context.Response.Headers.ETag = existing.ETag;
        }

        if (existing.ContentType is not null)
        {
            context.Response.ContentType = existing.ContentType;
        }

        if (existing.StorageOperationId is not null)
        {
            context.Response.Headers[DedalusHeaders.StorageOperationId] = existing.StorageOperationId;
        }

        context.Response.Headers[ReplayedHeader] = "true";
        if (existing.Body is { Length: > 0 } body)
        {
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    internal static string RequestHash(string method, string path, ReadOnlySpan<byte> body)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(method.ToUpperInvariant() + " " + path.ToLowerInvariant() + "\n"));
        sha.AppendData(body);
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }
}
