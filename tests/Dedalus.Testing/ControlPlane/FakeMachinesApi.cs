using Dedalus.Contracts;
using Dedalus.Testing.Sshd;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Testing.ControlPlane;

/// <summary>
/// A stand-in for the control plane's SSH-session routes in front of a real <see cref="OpenSshServer"/>:
/// requires <c>Bearer good-key</c>, knows two machines (each with its own sshd and host CA, as real machines each
/// have their own host CA), answers <c>wake_in_progress</c> to the first poll(s) of
/// a session when <see cref="Asleep"/>, and signs real certificates. Lets the CLI be tested end to end with real
/// ssh, scp and rsync while the control plane is built.
/// </summary>
public sealed class FakeMachinesApi : IAsyncDisposable
{
    public const string GoodKey = "good-key";

    /// <summary>A machine that exists but is destroyed: its sessions fail with <c>MACHINE_DESTROYED</c>.</summary>
    public const string DestroyedMachineId = "dm-0000000d-0000-4000-8000-00000000000d";

    private readonly Dictionary<string, (SshSession Session, int PollsLeft)> _sessions = [];
    private readonly Lock _lock = new();

    /// <summary>A second running machine, with its own sshd and host CA.</summary>
    public const string OtherMachineId = "dm-0b9f6c1e-4a5d-4c3b-9e2f-00000000000b";

    private FakeMachinesApi(OpenSshServer sshd, OpenSshServer otherSshd)
    {
        Sshd = sshd;
        OtherSshd = otherSshd;
    }

    /// <summary>The sshd of <see cref="Samples.MachineId"/>.</summary>
    public OpenSshServer Sshd { get; }

    /// <summary>The sshd of <see cref="OtherMachineId"/>.</summary>
    public OpenSshServer OtherSshd { get; }

    public StubApi Api { get; private set; } = null!;

    public bool Asleep { get; set; }

    public int SessionsCreated { get; private set; }

    public int SessionsClosed { get; private set; }

    /// <summary>Changes the connection of new sessions (to test client-side verification).</summary>
    public Func<SshConnection, SshConnection>? MutateConnection { get; set; }

    public static async Task<FakeMachinesApi> StartAsync()
    {
        var sshd = await OpenSshServer.StartAsync(Samples.MachineId);
        OpenSshServer other;
        try
        {
            other = await OpenSshServer.StartAsync(OtherMachineId);
        }
        catch
        {
            await sshd.DisposeAsync();
            throw;
        }

        var fake = new FakeMachinesApi(sshd, other);
        fake.Api = await StubApi.StartAsync(app =>
        {
            app.Use(async (context, next) =>
            {
                if (context.Request.Headers.Authorization != "Bearer " + GoodKey)
                {
                    await StubApi.Error(401, "AUTH_INVALID", "API key is not valid").ExecuteAsync(context);
                    return;
                }

                await next(context);
            });
            app.MapGet("/v1/machines/{id}", (string id) => fake.SshdOf(id) is not null
                ? Wire.Json(Samples.Machine(id))
                : StubApi.Error(404, ErrorCodes.NotFound, $"machine {id} not found", resource: NotFoundResources.Machine));
            app.MapPost("/v1/machines/{id}/ssh", fake.CreateSessionAsync);
            app.MapGet("/v1/machines/{id}/ssh/{sid}", (string id, string sid) => fake.Poll(sid));
            app.MapDelete("/v1/machines/{id}/ssh/{sid}", (string id, string sid) => fake.Close(sid));
        });
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        await Sshd.DisposeAsync();
        await OtherSshd.DisposeAsync();
    }

    private OpenSshServer? SshdOf(string machineId) => machineId switch
    {
        Samples.MachineId => Sshd,
        OtherMachineId => OtherSshd,
        _ => null,
    };

    private async Task<IResult> CreateSessionAsync(string id, HttpContext context)
    {
        if (id == DestroyedMachineId)
        {
            return Wire.Json(new SshSession(
                "ssh-destroyed", id, SshSessionStatuses.Failed, DateTimeOffset.UtcNow, ErrorCode: ErrorCodes.MachineDestroyed, ErrorMessage: $"machine {id} is destroyed"));
        }

        if (SshdOf(id) is not { } sshd)
        {
            return StubApi.Error(404, ErrorCodes.NotFound, $"machine {id} not found", resource: NotFoundResources.Machine);
        }

        var request = await context.Request.ReadFromJsonAsync(DedalusJsonContext.Default.CreateSshSessionRequest);
        var certificate = await sshd.SignUserKeyAsync(request!.PublicKey!);
        lock (_lock)
        {
            SessionsCreated++;
            var sessionId = "ssh-" + SessionsCreated.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var ready = new SshSession(sessionId, id, SshSessionStatuses.Ready, DateTimeOffset.UtcNow, (MutateConnection ?? (c => c))(sshd.Connection(certificate)), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(10));
            if (!Asleep)
            {
                _sessions[sessionId] = (ready, 0);
                return Wire.Json(ready);
            }

            _sessions[sessionId] = (ready, 2);
            return Wire.Json(ready with { Status = SshSessionStatuses.WakeInProgress, Connection = null, RetryAfterMs = 100 });
        }
    }

    private IResult Close(string sessionId)
    {
        lock (_lock)
        {
            if (!_sessions.TryGetValue(sessionId, out var entry))
            {
                return StubApi.Error(404, ErrorCodes.NotFound, $"ssh session {sessionId} not found", resource: NotFoundResources.SshSession);
            }

            var closed = entry.Session with { Status = SshSessionStatuses.Closed, Connection = null };
            _sessions[sessionId] = (closed, 0);
            SessionsClosed++;
            return Wire.Json(closed);
        }
    }

    private IResult Poll(string sessionId)
    {
        lock (_lock)
        {
            if (!_sessions.TryGetValue(sessionId, out var entry))
            {
                return StubApi.Error(404, ErrorCodes.NotFound, $"ssh session {sessionId} not found", resource: NotFoundResources.SshSession);
            }

            if (entry.PollsLeft > 0)
            {
                _sessions[sessionId] = (entry.Session, entry.PollsLeft - 1);
                return Wire.Json(entry.Session with { Status = SshSessionStatuses.WakeInProgress, Connection = null, RetryAfterMs = 100 });
            }

            return Wire.Json(entry.Session);
        }
    }
}
