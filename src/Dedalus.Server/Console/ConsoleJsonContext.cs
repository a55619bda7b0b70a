using System.Text.Json.Serialization;

namespace Dedalus.Server.Console;

/// <summary>What <c>GET /console/api/session</c> answers: the org the browser session acts for and when it ends.</summary>
public sealed record ConsoleSessionInfo(string OrgId, DateTimeOffset ExpiresAt, DateTimeOffset IdleExpiresAt);

/// <summary>The console's own JSON shapes; machines and sessions use the wire contract's context.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ConsoleSessionInfo))]
internal sealed partial class ConsoleJsonContext : JsonSerializerContext;
