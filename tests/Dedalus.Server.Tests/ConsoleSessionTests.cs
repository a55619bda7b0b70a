using Dedalus.Server.Auth;
using Dedalus.Server.Console;
using Dedalus.Server.Hosting;
using Dedalus.Server.Store.Sqlite;
using Dedalus.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// The console's browser sessions on a real SQLite store and a fake clock: who a token is, how it ends (idle, absolute,
/// sign-out), and the settings that bound it.
/// </summary>
public sealed class ConsoleSessionTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.FromUnixTimeMilliseconds(1_780_000_000_000));
    private readonly ServerOptions _options = new() { DataDirectory = "/unused", ConsoleSessionLifetime = TimeSpan.FromHours(3), ConsoleIdleTimeout = TimeSpan.FromHours(1) };
    private SqliteStore _store = null!;
    private ApiKeys _keys = null!;
    private ConsoleSessions _sessions = null!;

    public async Task InitializeAsync()
    {
        _store = await SqliteStore.OpenAsync(_data.Path);
        _keys = new ApiKeys(_store, _clock);
        _sessions = new ConsoleSessions(_store, _keys, _options, _clock);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task A_valid_key_opens_a_session_of_its_org_whose_token_is_never_stored_and_an_invalid_key_opens_none()
    {
        var (key, org) = await _keys.CreateAsync("acme");

        var signedIn = await _sessions.SignInAsync(key);

        Assert.NotNull(signedIn);
        var (session, token) = signedIn.Value;
        Assert.Equal(org, session.OrgId);
        Assert.Equal(ConsoleSessions.TokenLength, token.Length);
        Assert.DoesNotContain(token, session.CsrfToken, StringComparison.Ordinal);
        Assert.Equal(session.Id, (await _sessions.ResolveAsync(token))?.Id);
        Assert.Null(await _sessions.SignInAsync("dk_not-a-key"));
        Assert.Null(await _sessions.ResolveAsync(token[..^1] + (token[^1] == 'A' ? 'B' : 'A')));
        Assert.Null(await _sessions.ResolveAsync("short"));
        Assert.Null(await _sessions.ResolveAsync(null));
    }

    [Fact]
    public async Task A_session_in_use_outlives_its_idle_timeout_but_not_its_lifetime_and_an_unused_one_ends_after_the_idle_timeout()
    {
        var (key, _) = await _keys.CreateAsync("acme");
        var (_, busy) = (await _sessions.SignInAsync(key))!.Value;
        var (_, idle) = (await _sessions.SignInAsync(key))!.Value;

        for (var i = 0; i < 4; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(40));
            Assert.NotNull(await _sessions.ResolveAsync(busy)); // 40 min after its last use each time
        }

        Assert.Null(await _sessions.ResolveAsync(idle)); // 160 min unused
        _clock.Advance(TimeSpan.FromMinutes(20));
        Assert.Null(await _sessions.ResolveAsync(busy)); // 3 h after sign-in, however busy
    }

    [Fact]
    public async Task After_sign_out_the_token_names_no_session()
    {
        var (key, _) = await _keys.CreateAsync("acme");
        var (session, token) = (await _sessions.SignInAsync(key))!.Value;

        Assert.True(await _sessions.SignOutAsync(session.Id));

        Assert.Null(await _sessions.ResolveAsync(token));
        Assert.False(await _sessions.SignOutAsync(session.Id));
    }

    [Fact]
    public void An_idle_timeout_longer_than_the_session_lifetime_is_refused_naming_both()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dedalus:ConsoleSessionLifetime"] = "30m",
            ["Dedalus:ConsoleIdleTimeout"] = "2h",
        }).Build();

        var (_, errors) = ServerConfiguration.Read(configuration);

        var error = Assert.Single(errors);
        Assert.Contains("ConsoleIdleTimeout", error, StringComparison.Ordinal);
        Assert.Contains("lifetime", error, StringComparison.Ordinal);
        var (options, none) = ServerConfiguration.Read(new ConfigurationBuilder().Build());
        Assert.Empty(none);
        Assert.Equal((TimeSpan.FromHours(12), TimeSpan.FromHours(1)), (options.ConsoleSessionLifetime, options.ConsoleIdleTimeout));
    }
}
