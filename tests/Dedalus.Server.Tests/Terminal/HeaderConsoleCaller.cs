using Dedalus.Server.Console;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Tests.Terminal;

/// <summary>
/// A test double of the console's sign-in: the org is the <c>x-test-org</c> header, the browser session the
/// <c>x-test-browser</c> header (the console's own tests cover the real cookie path, in a browser).
/// </summary>
public sealed class HeaderConsoleCaller : IConsoleCaller
{
    public const string OrgHeader = "x-test-org";
    public const string BrowserHeader = "x-test-browser";

    public ValueTask<ConsoleCallerInfo?> ResolveAsync(HttpContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(context.Request.Headers[OrgHeader] is [{ Length: > 0 } org]
            ? new ConsoleCallerInfo(org, context.Request.Headers[BrowserHeader] is [{ Length: > 0 } browser] ? browser : "browser-1")
            : null);
}
