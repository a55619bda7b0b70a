using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Console;
/// <summary>Who a console request comes from: the org of its browser session, or null when it has none.</summary>
public interface IConsoleCaller
{
    ValueTask<ConsoleCallerInfo?> ResolveAsync(HttpContext context, CancellationToken cancellationToken);
}
/// <summary>A signed-in console caller: its org, and the id of its browser session (a terminal ends when it does).</summary>
public sealed record ConsoleCallerInfo(string OrgId, string BrowserSessionId);
