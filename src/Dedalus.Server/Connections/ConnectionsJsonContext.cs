using System.Text.Json.Serialization;

namespace Dedalus.Server.Connections;

/// <summary>
/// The JSON of the SSH connection lists: snake_case, nulls omitted, as the wire contract's context
/// (<see cref="Dedalus.Contracts.DedalusJsonContext"/>). A context of the server's own, because these lists are this
/// server's extension (the DCS contract has no such operation), read by its console, not by the SDK or the CLI.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(LiveSshConnectionList))]
[JsonSerializable(typeof(FinishedSshConnectionList))]
public sealed partial class ConnectionsJsonContext : JsonSerializerContext;
