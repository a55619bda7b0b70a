using System.Text.Json.Serialization;
using Dedalus.Server.Connections;

namespace Dedalus.Server.Console;

/// <summary>What <c>GET /console/api/session</c> answers: the org the browser session acts for and when it ends.</summary>
public sealed record ConsoleSessionInfo(string OrgId, DateTimeOffset ExpiresAt, DateTimeOffset IdleExpiresAt);

/// <summary>What <c>GET /console/api/machines/{id}/connections</c> answers: who is connected now, and the latest finished connections, newest first.</summary>
public sealed record ConsoleConnections(IReadOnlyList<LiveSshConnection> Live, IReadOnlyList<FinishedSshConnection> History);

/// <summary>The console's own JSON shapes; machines and sessions use the wire contract's context.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ConsoleSessionInfo))]
[JsonSerializable(typeof(ConsoleConnections))]
internal sealed partial class ConsoleJsonContext : JsonSerializerContext;
