using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Dedalus.Server.Store;

namespace Dedalus.Server.Auth;

/// <summary>
/// API keys: 32 random bytes, shown once; only their SHA-256 is stored. A key of that entropy needs no
/// slow hash. Lookups are by hash (so no secret-dependent comparison happens on the key itself) and the
/// stored hash is compared again in constant time. Resolved keys are cached briefly.
/// </summary>
public sealed class ApiKeys(IStore store, TimeProvider timeProvider)
{
    public const string Prefix = "dk_";
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (string OrgId, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    /// <summary>Creates a key for the org named <paramref name="orgName"/> (creating the org) and returns the key and org id.</summary>
    public async Task<(string Key, string OrgId)> CreateAsync(string orgName, CancellationToken cancellationToken = default)
    {
        var now = timeProvider.GetUtcNow();
        var orgId = await store.EnsureOrgAsync(orgName, now, cancellationToken).ConfigureAwait(false);
        var key = Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        await store.AddApiKeyAsync(Hash(key), key[..(Prefix.Length + 6)], orgId, now, cancellationToken).ConfigureAwait(false);
        return (key, orgId);
    }

    /// <summary>The org of <paramref name="key"/>, or null when the key is unknown or revoked.</summary>
    public async ValueTask<string?> ResolveAsync(string key, CancellationToken cancellationToken = default)
    {
        if (key.Length is 0 or > 512)
        {
            return null;
        }

        var hash = Hash(key);
        var cacheKey = Convert.ToHexString(hash);
        var now = timeProvider.GetUtcNow();
        if (_cache.TryGetValue(cacheKey, out var cached) && cached.Until > now)
        {
            return cached.OrgId;
        }

        var orgId = await store.FindOrgByApiKeyHashAsync(hash, cancellationToken).ConfigureAwait(false);
        if (orgId is null)
        {
            return null;
        }

        // The row was found by its hash; compare once more in constant time as defence in depth.
        if (!CryptographicOperations.FixedTimeEquals(hash, Hash(key)))
        {
            return null;
        }

        _cache[cacheKey] = (orgId, now + CacheLifetime);
        return orgId;
    }

    /// <summary>The stored form of a key: its SHA-256 (a browser session of the console names its key by it).</summary>
    internal static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
