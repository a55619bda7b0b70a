using Dedalus.Server.Store;

namespace Dedalus.Server.Tests.Store;

public abstract partial class StoreContractTests
{
    // Console browser sessions.

    [Fact]
    public async Task A_console_session_is_found_by_its_token_hash_with_every_field_and_an_unknown_hash_finds_none()
    {
        var session = await ConsoleSessionAsync("cs-1", 1);

        var found = await Store.FindConsoleSessionAsync(session.TokenHash, T0 + TimeSpan.FromMinutes(1));

        Assert.NotNull(found);
        Assert.Equal(Comparable(session), Comparable(found));
        Assert.Null(await Store.FindConsoleSessionAsync(Hash(99), T0));
    }

    [Fact]
    public async Task A_console_session_is_not_found_once_its_idle_or_absolute_expiry_has_passed()
    {
        var idle = await ConsoleSessionAsync("cs-idle", 1, idleEnd: T0 + TimeSpan.FromMinutes(30), end: T0 + TimeSpan.FromHours(12));
        var old = await ConsoleSessionAsync("cs-old", 2, idleEnd: T0 + TimeSpan.FromHours(1), end: T0 + TimeSpan.FromMinutes(45));

        Assert.NotNull(await Store.FindConsoleSessionAsync(idle.TokenHash, T0 + TimeSpan.FromMinutes(29)));
        Assert.Null(await Store.FindConsoleSessionAsync(idle.TokenHash, T0 + TimeSpan.FromMinutes(30)));
        Assert.NotNull(await Store.FindConsoleSessionAsync(old.TokenHash, T0 + TimeSpan.FromMinutes(44)));
        Assert.Null(await Store.FindConsoleSessionAsync(old.TokenHash, T0 + TimeSpan.FromMinutes(45)));
    }

    [Fact]
    public async Task Touching_a_console_session_moves_its_idle_expiry_never_past_its_absolute_one_and_an_expired_one_stays_expired()
    {
        var session = await ConsoleSessionAsync("cs-touch", 1, idleEnd: T0 + TimeSpan.FromHours(1), end: T0 + TimeSpan.FromHours(2));
        var later = T0 + TimeSpan.FromMinutes(50);

        Assert.True(await Store.TouchConsoleSessionAsync(session.Id, later, later + TimeSpan.FromHours(1)));
        var touched = await Store.FindConsoleSessionAsync(session.TokenHash, later);
        Assert.Equal(later, touched!.LastSeenAt);
        Assert.Equal(later + TimeSpan.FromHours(1), touched.IdleExpiresAt);

        var late = T0 + TimeSpan.FromMinutes(100);
        Assert.True(await Store.TouchConsoleSessionAsync(session.Id, late, late + TimeSpan.FromHours(1)));
        Assert.Equal(T0 + TimeSpan.FromHours(2), (await Store.FindConsoleSessionAsync(session.TokenHash, late))!.IdleExpiresAt);

        Assert.False(await Store.TouchConsoleSessionAsync(session.Id, T0 + TimeSpan.FromHours(2), T0 + TimeSpan.FromHours(3)));
        Assert.False(await Store.TouchConsoleSessionAsync("cs-none", T0, T0 + TimeSpan.FromHours(1)));
    }

    [Fact]
    public async Task A_deleted_console_session_is_gone_for_good_and_deleting_it_again_says_so()
    {
        var session = await ConsoleSessionAsync("cs-out", 1);
        var other = await ConsoleSessionAsync("cs-stays", 2);

        Assert.True(await Store.DeleteConsoleSessionAsync(session.Id));

        Assert.Null(await Store.FindConsoleSessionAsync(session.TokenHash, T0));
        Assert.False(await Store.DeleteConsoleSessionAsync(session.Id));
        Assert.False(await Store.TouchConsoleSessionAsync(session.Id, T0 + TimeSpan.FromMinutes(2), T0 + TimeSpan.FromHours(1)));
        Assert.NotNull(await Store.FindConsoleSessionAsync(other.TokenHash, T0));
    }

    [Fact]
    public async Task Deleting_expired_console_sessions_takes_the_idle_and_the_absolutely_expired_and_leaves_the_live()
    {
        await ConsoleSessionAsync("cs-idle", 1, idleEnd: T0 + TimeSpan.FromMinutes(10), end: T0 + TimeSpan.FromHours(12));
        await ConsoleSessionAsync("cs-old", 2, idleEnd: T0 + TimeSpan.FromHours(1), end: T0 + TimeSpan.FromMinutes(20));
        var live = await ConsoleSessionAsync("cs-live", 3, idleEnd: T0 + TimeSpan.FromHours(1), end: T0 + TimeSpan.FromHours(12));

        Assert.Equal(2, await Store.DeleteExpiredConsoleSessionsAsync(T0 + TimeSpan.FromMinutes(20)));

        Assert.Equal(0, await Store.DeleteExpiredConsoleSessionsAsync(T0 + TimeSpan.FromMinutes(20)));
        Assert.NotNull(await Store.FindConsoleSessionAsync(live.TokenHash, T0 + TimeSpan.FromMinutes(20)));
    }

    [Fact]
    public async Task A_console_session_belongs_to_its_api_key_whose_hash_it_keeps_and_two_sessions_never_share_a_token()
    {
        var first = await ConsoleSessionAsync("cs-a", 1);
        var second = await ConsoleSessionAsync("cs-b", 2);

        Assert.Equal(first.ApiKeyHash, (await Store.FindConsoleSessionAsync(first.TokenHash, T0))!.ApiKeyHash);
        Assert.Equal("cs-b", (await Store.FindConsoleSessionAsync(second.TokenHash, T0))!.Id);
        await Assert.ThrowsAnyAsync<Exception>(() => Store.InsertConsoleSessionAsync(second with { Id = "cs-c" }));
    }

    private byte[]? _consoleKeyHash;
    private string? _consoleOrg;

    /// <summary>Stores a browser session of the test org's API key, token hash from <paramref name="seed"/>.</summary>
    private async Task<ConsoleSessionRecord> ConsoleSessionAsync(string id, int seed, DateTimeOffset? idleEnd = null, DateTimeOffset? end = null)
    {
        if (_consoleOrg is null)
        {
            _consoleOrg = await OrgAsync();
            _consoleKeyHash = Hash(200);
            await Store.AddApiKeyAsync(_consoleKeyHash, "dk_console", _consoleOrg, T0);
        }

        var session = new ConsoleSessionRecord
        {
            Id = id,
            TokenHash = Hash(seed),
            OrgId = _consoleOrg,
            ApiKeyHash = _consoleKeyHash!,
            CsrfToken = "csrf-" + id,
            CreatedAt = T0,
            LastSeenAt = T0,
            ExpiresAt = end ?? T0 + TimeSpan.FromHours(12),
            IdleExpiresAt = idleEnd ?? T0 + TimeSpan.FromHours(1),
        };
        await Store.InsertConsoleSessionAsync(session);
        return session;
    }

    private static byte[] Hash(int seed) => [.. Enumerable.Range(0, 32).Select(i => (byte)(i * 31 + seed))];

    private static object Comparable(ConsoleSessionRecord s) =>
        (s.Id, Convert.ToHexString(s.TokenHash), s.OrgId, Convert.ToHexString(s.ApiKeyHash), s.CsrfToken, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.IdleExpiresAt);
}
