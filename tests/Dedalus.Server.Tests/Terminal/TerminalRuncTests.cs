using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using Dedalus.Contracts;
using Dedalus.Server.Console;
using Dedalus.Server.Console.Terminal;
using Dedalus.Server.Hosting;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Dedalus.Server.Tests.Terminal;

/// <summary>
/// The browser terminal end to end without a browser: the real server with the runc runtime and its gateway, a real
/// machine, real <c>ssh</c> on a PTY, and <see cref="ClientWebSocket"/> as the browser, signed in with a real browser session
/// (the console's cookie; the console's own tests drive a real browser).
/// </summary>
public sealed class TerminalRuncTests(TerminalRuncTests.Fixture fixture, ITestOutputHelper output) : IClassFixture<TerminalRuncTests.Fixture>
{
    [Fact]
    public async Task Typing_resizing_ctrl_c_and_colours_go_through_and_closing_the_tab_ends_ssh_and_the_session()
    {
        await using var terminal = await fixture.ConnectAsync();
        var ready = await terminal.WaitForFrameAsync("ready");
        var sessionId = ready.GetProperty("session_id").GetString()!;

        await terminal.TypeAsync("echo $((6*7))\r");
        Assert.True(await terminal.WaitForTextAsync("42"), terminal.Text);

        await terminal.ResizeAsync(123, 45);
        await terminal.TypeAsync("echo size-$(stty size | tr ' ' x) cols-$(tput cols)\r");
        Assert.True(await terminal.WaitForTextAsync("size-45x123 cols-123"), terminal.Text);

        // Ctrl-C reaches the machine (ssh's PTY is raw): the sleep is interrupted and the prompt takes the next line.
        await terminal.TypeAsync("sleep 100; echo not-interrupted\r");
        await Task.Delay(500);
        await terminal.TypeAsync("\u0003");
        await terminal.TypeAsync("echo back-$((2+3))\r");
        Assert.True(await terminal.WaitForTextAsync("back-5"), terminal.Text);
        Assert.DoesNotContain("\nnot-interrupted", terminal.Text, StringComparison.Ordinal); // the line typed is echoed, its output never came

        // Colours arrive as escape bytes; TERM is xterm-256color.
        await terminal.TypeAsync("printf '\\033[31mred-%s\\033[0m\\n' $TERM\r");
        Assert.True(await terminal.WaitForTextAsync("\u001b[31mred-xterm-256color\u001b[0m"), terminal.Text);

        // The terminal's session is listed like any session, ready.
        var listed = await fixture.Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{fixture.MachineId}/ssh", null, DedalusJsonContext.Default.SshSessionList);
        Assert.Contains(listed.Items, s => s.SessionId == sessionId && s.Status == SshSessionStatuses.Ready);
        var sshPid = fixture.Terminals.Open.Single(t => t.SessionId == sessionId).SshProcessId!.Value;
        Assert.True(File.Exists($"/proc/{sshPid}/stat"));

        // The key, certificate and known_hosts live in a private directory while the terminal is open.
        var keyDirectories = Directory.GetDirectories(Path.GetTempPath(), "dedalus-terminal-*").Where(d => File.Exists(Path.Combine(d, "key-cert.pub"))).ToList();
        Assert.NotEmpty(keyDirectories);
        Assert.All(keyDirectories, d => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(d)));
        Assert.All(keyDirectories, d => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(d, "key"))));

        // The tab closes: ssh is gone (reaped), the session closed, its connection in the gateway's audit.
        await terminal.CloseAsync();
        Assert.True(await Eventually.TrueAsync(() => fixture.Terminals.Open.All(t => t.SessionId != sessionId), TerminalConnection.Bound));
        Assert.False(File.Exists($"/proc/{sshPid}/stat"), "ssh is still there");
        Assert.Empty(PseudoTerminal.SessionMembers(sshPid));
        var session = await fixture.Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{fixture.MachineId}/ssh/{sessionId}", null, DedalusJsonContext.Default.SshSession);
        Assert.Equal(SshSessionStatuses.Closed, session.Status);
        Assert.True(await Eventually.TrueAsync(async () => await fixture.AuditedConnectionsAsync(sessionId) > 0, TerminalConnection.Bound), "no audit row for the terminal's connection");
        Assert.All(keyDirectories, d => Assert.False(Directory.Exists(d), d + " is still there"));
    }

    [Fact]
    public async Task Deleting_the_terminals_session_through_the_api_closes_it_with_code_revoked()
    {
        await using var terminal = await fixture.ConnectAsync();
        var sessionId = (await terminal.WaitForFrameAsync("ready")).GetProperty("session_id").GetString()!;
        await terminal.TypeAsync("echo up-$((1+1))\r");
        Assert.True(await terminal.WaitForTextAsync("up-2"), terminal.Text);

        await fixture.Http.SendJsonAsync(HttpMethod.Delete, $"/v1/machines/{fixture.MachineId}/ssh/{sessionId}", null, DedalusJsonContext.Default.SshSession);

        var closed = await terminal.WaitForFrameAsync("closed");
        Assert.Equal(TerminalEnd.RevokedCode, closed.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(closed.GetProperty("reason").GetString()));
        await terminal.Ended.WaitAsync(TerminalConnection.Bound);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, terminal.Socket.CloseStatus);
        Assert.Single(terminal.Frames, f => f.GetProperty("type").GetString() == "closed");
    }

    [Fact]
    public async Task The_shell_exiting_closes_the_terminal_with_code_exit_and_the_session_is_closed()
    {
        await using var terminal = await fixture.ConnectAsync();
        var sessionId = (await terminal.WaitForFrameAsync("ready")).GetProperty("session_id").GetString()!;
        await terminal.TypeAsync("exit 3\r");

        var closed = await terminal.WaitForFrameAsync("closed");
        Assert.Equal(TerminalEnd.ExitCode, closed.GetProperty("code").GetString());
        Assert.Contains("3", closed.GetProperty("reason").GetString(), StringComparison.Ordinal);
        var session = await fixture.Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{fixture.MachineId}/ssh/{sessionId}", null, DedalusJsonContext.Default.SshSession);
        Assert.Equal(SshSessionStatuses.Closed, session.Status);
    }

    [Fact]
    public async Task Signing_out_ends_the_browser_sessions_terminals_with_code_signed_out()
    {
        var (signingOut, signingOutCookie) = await fixture.SignInAsync();
        var (_, stayingCookie) = await fixture.SignInAsync();
        await using var mine = await fixture.ConnectAsync(signingOutCookie);
        await using var other = await fixture.ConnectAsync(stayingCookie);
        await mine.WaitForFrameAsync("ready");
        await other.WaitForFrameAsync("ready");

        // The console's own sign-out: same origin, the session's anti-forgery token, its cookie.
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = new Uri(fixture.BaseUrl) };
        using var signOut = new HttpRequestMessage(HttpMethod.Delete, "/console/api/session");
        signOut.Headers.Add("Origin", fixture.BaseUrl);
        signOut.Headers.Add("Cookie", ConsoleCookies.SessionName + "=" + signingOutCookie);
        signOut.Headers.Add(ConsoleSecurity.CsrfHeader, signingOut.CsrfToken);
        using (var signedOut = await http.SendAsync(signOut))
        {
            Assert.Equal(HttpStatusCode.NoContent, signedOut.StatusCode);
        }

        Assert.Equal(TerminalEnd.SignedOutCode, (await mine.WaitForFrameAsync("closed")).GetProperty("code").GetString());
        await other.TypeAsync("echo other-$((4*4))\r");
        Assert.True(await other.WaitForTextAsync("other-16"), other.Text);
        Assert.DoesNotContain(other.Frames, f => f.GetProperty("type").GetString() == "closed");
    }

    [Fact]
    public async Task A_flood_of_output_to_a_browser_that_stops_reading_pauses_the_pty_instead_of_buffering()
    {
        await using var terminal = await fixture.ConnectAsync();
        var sessionId = (await terminal.WaitForFrameAsync("ready")).GetProperty("session_id").GetString()!;
        await terminal.TypeAsync("yes 0123456789abcdefghijklmnopqrstuvwxyz\r");
        Assert.True(await terminal.WaitForTextAsync("0123456789abcdefghijklmnopqrstuvwxyz\r\n0123456789"), "no flood seen");

        await terminal.PauseAsync();
        TerminalInfo Info() => fixture.Terminals.Open.Single(t => t.SessionId == sessionId);

        // The PTY reads stop: two samples a second apart agree (the TCP buffers fill first, so this takes a moment).
        var stalled = await Eventually.TrueAsync(
            async () =>
            {
                var before = Info().PtyBytesRead;
                await Task.Delay(1000);
                return Info().PtyBytesRead == before;
            },
            TerminalConnection.Bound);
        var info = Info();
        output.WriteLine($"paused browser: {info.PtyBytesRead} bytes read from the PTY, {info.OutputBytesSent} sent, {info.BufferedOutputBytes} held by the server");
        Assert.True(stalled, $"the PTY was still read: {info}");
        Assert.True(info.BufferedOutputBytes <= TerminalLimits.OutputQueueFrames * TerminalLimits.OutputChunkBytes, $"buffered: {info}");
        Assert.True(info.PtyBytesRead > info.OutputBytesSent, $"{info}");

        terminal.Resume();
        var resumedFrom = info.PtyBytesRead;
        Assert.True(await Eventually.TrueAsync(() => Info().PtyBytesRead > resumedFrom, TerminalConnection.Bound), "reading did not resume");
        await terminal.CloseAsync();
    }

    [Fact]
    public async Task Refusals_happen_before_the_upgrade_and_create_no_session()
    {
        var before = await fixture.SessionCountAsync();
        var baseUrl = fixture.BaseUrl;

        var (connection, status) = await TerminalConnection.TryConnectAsync(baseUrl, fixture.MachineId, fixture.Cookie, origin: "http://evil.example");
        Assert.Null(connection);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        var port = new Uri(baseUrl).Port;
        (connection, status) = await TerminalConnection.TryConnectAsync(baseUrl, fixture.MachineId, fixture.Cookie, origin: $"https://127.0.0.1:{port}");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        (connection, status) = await TerminalConnection.TryConnectAsync(baseUrl, fixture.MachineId, fixture.Cookie, origin: $"http://127.0.0.1:{port + 1}");
        Assert.Equal(HttpStatusCode.Forbidden, status);

        (connection, status) = await TerminalConnection.TryConnectAsync(baseUrl, fixture.MachineId, cookie: null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);

        (connection, status) = await TerminalConnection.TryConnectAsync(baseUrl, fixture.MachineId, fixture.OtherCookie);
        Assert.Equal(HttpStatusCode.NotFound, status);

        foreach (var query in new[] { "cols=0&rows=24", "cols=80&rows=1001", "cols=abc&rows=24", "rows=24", "cols=80&cols=81&rows=24", "cols=-5&rows=24" })
        {
            (connection, status) = await TerminalConnection.TryConnectAsync(baseUrl, fixture.MachineId, fixture.Cookie, query: query);
            Assert.True(status == HttpStatusCode.BadRequest, $"{query}: {status}");
        }

        Assert.Null(connection);
        Assert.Equal(before, await fixture.SessionCountAsync());

        // The refusals carry the DCS envelope (read through a plain HTTP request).
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/console/api/machines/{fixture.MachineId}/terminal?cols=80&rows=24");
        request.Headers.Add("Origin", "http://evil.example");
        request.Headers.Add("Cookie", ConsoleCookies.SessionName + "=" + fixture.Cookie);
        using var refused = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var envelope = System.Text.Json.JsonSerializer.Deserialize(await refused.Content.ReadAsStringAsync(), DedalusJsonContext.Default.ErrorEnvelope)!;
        Assert.Equal(ErrorCodes.Forbidden, envelope.ErrorCode);
    }

    [Fact]
    public async Task Garbage_frames_are_ignored_and_an_oversized_frame_ends_the_terminal_with_code_error()
    {
        await using var terminal = await fixture.ConnectAsync();
        await terminal.WaitForFrameAsync("ready");
        await terminal.SendAsync("not json"u8.ToArray(), WebSocketMessageType.Text);
        await terminal.SendAsync("""{"type":"resize","cols":5000,"rows":1}"""u8.ToArray(), WebSocketMessageType.Text);
        await terminal.TypeAsync("echo alive-$((3*3))\r");
        Assert.True(await terminal.WaitForTextAsync("alive-9"), terminal.Text);

        await terminal.SendAsync(new byte[TerminalLimits.MaxInputFrameBytes + 1], WebSocketMessageType.Binary);
        var closed = await terminal.WaitForFrameAsync("closed");
        Assert.Equal(TerminalEnd.ErrorCode, closed.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_sleeping_machine_wakes_with_status_frames_then_ready()
    {
        await fixture.Http.SendJsonAsync(HttpMethod.Post, $"/v1/machines/{fixture.MachineId}/sleep", null, DedalusJsonContext.Default.Machine);
        await fixture.WaitForPhaseAsync(MachinePhases.Sleeping);

        await using var terminal = await fixture.ConnectAsync();
        await terminal.WaitForFrameAsync("ready");
        var statuses = terminal.Frames.Where(f => f.GetProperty("type").GetString() == "status").Select(f => f.GetProperty("text").GetString()).ToList();
        Assert.Contains("waking the machine…", statuses);
        await terminal.TypeAsync("echo awake-$((5*5))\r");
        Assert.True(await terminal.WaitForTextAsync("awake-25"), terminal.Text);
        await terminal.CloseAsync();
    }

    /// <summary>One server (runc, gateway, the header caller), one machine, two orgs.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly TempDirectory _data = new("dedalus-terminal-");
        private readonly int _port = FreePort.Next();
        private WebApplication _app = null!;
        private string _apiKey = null!;

        public HttpClient Http { get; private set; } = null!;

        public string BaseUrl { get; private set; } = null!;

        /// <summary>A browser session of the machine's org (its cookie value).</summary>
        public string Cookie { get; private set; } = null!;

        /// <summary>A browser session of another org.</summary>
        public string OtherCookie { get; private set; } = null!;

        public string MachineId { get; private set; } = null!;

        public TerminalHost Terminals => _app.Services.GetRequiredService<TerminalHost>();

        public async Task InitializeAsync()
        {
            (_app, Http, _apiKey) = await RuncServer.StartAsync(_data.Path, _port, _port, ["--quota-machines", "unlimited"], "terminal");
            BaseUrl = _app.BoundAddresses()[0].TrimEnd('/');
            Cookie = (await SignInAsync()).Cookie;
            var other = (await _app.Services.GetRequiredService<Dedalus.Server.Auth.ApiKeys>().CreateAsync("other")).Key;
            OtherCookie = (await _app.Services.GetRequiredService<ConsoleSessions>().SignInAsync(other))!.Value.Token;
            var created = await Http.SendJsonAsync(HttpMethod.Post, "/v1/machines", """{"vcpu":0.5,"memory_mib":256,"storage_gib":1}""", DedalusJsonContext.Default.Machine);
            MachineId = created.MachineId;
            await WaitForPhaseAsync(MachinePhases.Running);
        }

        /// <summary>A new browser session of the machine's org, as the console's sign-in makes one.</summary>
        public async Task<(Dedalus.Server.Store.ConsoleSessionRecord Session, string Cookie)> SignInAsync() =>
            (await _app.Services.GetRequiredService<ConsoleSessions>().SignInAsync(_apiKey))!.Value;

        public Task<TerminalConnection> ConnectAsync(string? cookie = null) =>
            TerminalConnection.ConnectAsync(BaseUrl, MachineId, cookie ?? Cookie);

        public async Task<int> SessionCountAsync() =>
            (await Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{MachineId}/ssh?limit=100", null, DedalusJsonContext.Default.SshSessionList)).Items.Count;

        public async Task<long> AuditedConnectionsAsync(string sessionId)
        {
            await using var connection = ConnectionAuditRows.Open(_data.Path, SqliteOpenMode.ReadOnly);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM ssh_connections WHERE session_id = $id";
            command.Parameters.AddWithValue("$id", sessionId);
            return (long)(await command.ExecuteScalarAsync())!;
        }

        public async Task WaitForPhaseAsync(string phase)
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                var machine = await Http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{MachineId}", null, DedalusJsonContext.Default.Machine);
                if (machine.Phase == phase)
                {
                    return;
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(15), $"machine is {machine.Phase}: {machine.Status.LastError}");
                Assert.NotEqual(MachinePhases.Failed, machine.Phase);
                await Task.Delay(100);
            }
        }

        public async Task DisposeAsync()
        {
            Http.Dispose();
            await RuncServer.StopAsync(_app);
            _data.Dispose();
        }
    }
}
