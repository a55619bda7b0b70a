using System.Globalization;
using Dedalus.Server.Errors;
using Dedalus.Server.Machines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Dedalus.Server.Console.Terminal.Api;

/// <summary>
/// <c>GET /console/api/machines/{machineId}/terminal?cols=N&amp;rows=M</c>, a WebSocket upgrade (the protocol in the
/// server README). Every refusal happens before the upgrade, in the DCS error envelope, and creates nothing: 403 for an
/// Origin that is not the request's own, 401 without a console caller, 400 for a bad size or no upgrade, 404 for a
/// machine the caller's org cannot see.
/// </summary>
public static class TerminalApi
{
    public const string Route = "/console/api/machines/{machineId}/terminal";

    /// <summary>
    /// Maps the terminal endpoint, and adds the WebSocket middleware it needs (with the terminal's keep-alive: a ping
    /// every <see cref="TerminalLimits.KeepAliveInterval"/>, the connection dropped without a pong).
    /// </summary>
    public static IEndpointRouteBuilder MapConsoleTerminal(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TerminalLimits.KeepAliveInterval, KeepAliveTimeout = TerminalLimits.KeepAliveTimeout });
        app.MapGet(Route, OpenAsync).ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> OpenAsync(
        HttpContext context,
        string machineId,
        [FromServices] IEnumerable<IConsoleCaller> callers,
        [FromServices] MachineService machines,
        [FromServices] TerminalHost terminals,
        [FromServices] ILogger<TerminalHost> logger)
    {
        var request = context.Request;
        if (!IsSameOrigin(request, out var origin, out var expected))
        {
            ServerLog.TerminalOriginRefused(logger, origin.Length <= 200 ? origin : origin[..200], expected);
            throw new DomainException(ErrorKind.Forbidden, origin.Length == 0
                ? "the terminal WebSocket needs an Origin header (a browser sends one)"
                : $"the terminal WebSocket must come from a page of {expected}, not {(origin.Length <= 200 ? origin : origin[..200] + "...")}");
        }

        // The console registers its caller (the cookie session); the last registration wins, as with any service.
        var caller = callers.LastOrDefault() is { } resolver ? await resolver.ResolveAsync(context, context.RequestAborted) : null;
        if (caller is null)
        {
            throw new DomainException(ErrorKind.AuthenticationRequired, "sign in to the console first: the terminal needs a console session");
        }

        var columns = Size(request, "cols");
        var rows = Size(request, "rows");
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw DomainException.InvalidRequest("the terminal is a WebSocket: send an upgrade request");
        }

        // 404 (as the API answers) for a machine of another org, before anything is created.
        var machine = await machines.GetAsync(caller.OrgId, machineId, context.RequestAborted);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = TerminalLimits.KeepAliveInterval,
            KeepAliveTimeout = TerminalLimits.KeepAliveTimeout,
        });
        await terminals.RunAsync(socket, caller, machine, columns, rows, context.RequestAborted);
        return TypedResults.Empty;
    }

    /// <summary>The <c>cols</c> or <c>rows</c> query parameter: one integer in 1..1000.</summary>
    private static int Size(HttpRequest request, string name)
    {
        var values = request.Query[name];
        return values.Count == 1 && int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && TerminalLimits.IsSize(value)
            ? value
            : throw DomainException.InvalidRequest($"{name} must be one integer {TerminalLimits.MinSize}-{TerminalLimits.MaxSize}", name);
    }

    /// <summary>
    /// Whether the Origin header is the request's own scheme://host:port. A page of another site can open a WebSocket
    /// to us with the user's cookies (WebSockets are not subject to CORS): the Origin, which the browser sets and a page
    /// cannot change, is the check.
    /// </summary>
    private static bool IsSameOrigin(HttpRequest request, out string origin, out string expected)
    {
        var scheme = request.Scheme.ToLowerInvariant();
        var defaultPort = scheme == "https" ? 443 : 80;
        var host = request.Host;
        expected = $"{scheme}://{host.Host.ToLowerInvariant()}{(host.Port is { } p && p != defaultPort ? ":" + p.ToString(CultureInfo.InvariantCulture) : string.Empty)}";
        var values = request.Headers.Origin;
        origin = values.Count == 1 ? values[0] ?? string.Empty : string.Join(",", values.ToArray());
        if (values.Count != 1 || !host.HasValue || !Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.AbsolutePath != "/" || uri.Query.Length > 0 || origin.EndsWith('/'))
        {
            return false;
        }

        return string.Equals(uri.Scheme, scheme, StringComparison.Ordinal)
            && string.Equals(uri.Host, host.Host, StringComparison.OrdinalIgnoreCase)
            && uri.Port == (host.Port ?? defaultPort);
    }
}
